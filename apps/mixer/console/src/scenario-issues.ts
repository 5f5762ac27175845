// A refused scenario's problems as the console lists them: `line N: message`, in document order. Pure, tested.

export interface ScenarioIssue {
  path: string;
  message: string;
  line?: number;
  column?: number;
}

/** The issues of a 422 `schema` refusal's details, or [] when it has none. */
export function issuesOf(details: Record<string, unknown> | undefined): ScenarioIssue[] {
  const issues = details?.issues;
  if (!Array.isArray(issues)) return [];
  return issues.filter(
    (i): i is ScenarioIssue =>
      typeof i === "object" && i !== null && typeof (i as ScenarioIssue).message === "string",
  );
}

/** `line 4: gears[0].type: unknown gear type "tickr"`; without a line, the path leads. */
export function issueText(issue: ScenarioIssue): string {
  const where = issue.path === "" ? "" : `${issue.path}: `;
  return issue.line === undefined
    ? `${where}${issue.message}`
    : `line ${issue.line}: ${where}${issue.message}`;
}

/** The scenario's name and version as the YAML's `meta` states them, for the confirmation (best effort, no parser). */
export function metaOf(yaml: string): { name: string | null; version: string | null } {
  const name = /^\s*name:\s*["']?([a-z0-9-]+)["']?\s*$/m.exec(yaml)?.[1] ?? null;
  const version = /^\s*version:\s*["']?([^"'\s#]+)["']?\s*$/m.exec(yaml)?.[1] ?? null;
  return { name, version };
}
