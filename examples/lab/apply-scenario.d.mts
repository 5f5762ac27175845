// Types of apply-scenario.mjs, for the lab's TypeScript (tooling/lab).

/** What applying did: activated it, found it already active, or kept another scenario an operator activated. */
export interface ApplyScenarioResult {
  action: "activated" | "unchanged" | "kept";
  /** The active scenario's name and version afterwards. */
  name: string;
  version: string;
  /** The Racks it names. */
  racks: string[];
  /** From the activation: Racks adopted (Path B), pushed their logic, or not enrolled yet. */
  adopted: string[];
  pushed: string[];
  waiting: string[];
}

export function applyScenario(opts: {
  apiUrl: string;
  token: string;
  file: string;
}): Promise<ApplyScenarioResult>;
