// The checks of a scenario past its shape, run on the document as written so that one pass reports every problem:
// each gear's config against its type's schema, and the references between sections.
import { checkGearConfig, GEAR_CONFIG_SCHEMAS, isGearTypeName } from "@fluxrig/wire";
import type { z } from "zod";

/** A problem found by a check: where (path parts into the document) and what. */
export interface ScenarioProblem {
  pathParts: (string | number)[];
  message: string;
  /** Point at the key rather than its value (an unknown key). */
  atKey?: boolean;
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** `gear.port`; the first group is the gear. */
export const PORT_REF = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)\.([a-z][a-z0-9_-]{0,31})$/;

type Entry = Record<string, unknown>;

function isMapping(value: unknown): value is Entry {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A section's entries as written: the mappings of a list, with their positions (others are the shape's to report). */
function entries(section: unknown): Array<{ entry: Entry; index: number }> {
  if (!Array.isArray(section)) return [];
  return section.flatMap((entry, index) => (isMapping(entry) ? [{ entry, index }] : []));
}

/** A field that is a valid name (a lowercase DNS label); the shape reports the others. */
function labelOf(entry: Entry, key: string): string | undefined {
  const value = entry[key];
  return typeof value === "string" && LABEL.test(value) ? value : undefined;
}

/**
 * Each gear of a known type: its config against that type's schema from `@fluxrig/wire`, every problem at its key.
 * A config that is not a mapping, and an unknown type, are the shape's to report.
 */
export function gearConfigProblems(doc: unknown): ScenarioProblem[] {
  if (!isMapping(doc)) return [];
  const problems: ScenarioProblem[] = [];
  for (const { entry, index } of entries(doc.gears)) {
    const type = entry.type;
    const config = entry.config ?? {};
    if (typeof type !== "string" || !isGearTypeName(type) || !isMapping(config)) continue;
    const schema: z.ZodType<unknown> = GEAR_CONFIG_SCHEMAS[type];
    const checked = checkGearConfig(schema, config, type);
    if (checked.ok) continue;
    for (const issue of checked.issues) {
      problems.push({
        pathParts: ["gears", index, "config", ...issue.path],
        message: issue.message,
        atKey: issue.message.startsWith("unknown key"),
      });
    }
  }
  return problems;
}

/**
 * References between sections: unique names, gears deployed to listed Racks, wires between existing gears. Run on
 * the document as written, so a mistake elsewhere hides none of these; a reference that is itself malformed is left
 * to the shape's message, and names are compared as written, so one bad name is reported once.
 */
export function referenceProblems(doc: unknown): ScenarioProblem[] {
  if (!isMapping(doc)) return [];
  const problems: ScenarioProblem[] = [];
  const add = (pathParts: (string | number)[], message: string) => problems.push({ pathParts, message });
  const racks = new Set<unknown>();
  for (const { entry, index } of entries(doc.racks)) {
    const name = labelOf(entry, "name");
    if (name !== undefined && racks.has(name)) add(["racks", index, "name"], `Rack ${name} is listed twice`);
    racks.add(entry.name);
  }
  const racksListed = doc.racks === undefined || Array.isArray(doc.racks);
  const gears = new Set<unknown>();
  for (const { entry, index } of entries(doc.gears)) {
    const name = labelOf(entry, "name");
    if (name !== undefined && gears.has(name)) add(["gears", index, "name"], `gear ${name} is defined twice`);
    gears.add(entry.name);
    const deploy = labelOf(entry, "deploy");
    if (deploy !== undefined && racksListed && !racks.has(deploy))
      add(
        ["gears", index, "deploy"],
        `gear ${name ?? `#${index + 1}`} is deployed to ${deploy}, which is not in racks`,
      );
  }
  const gearsListed = doc.gears === undefined || Array.isArray(doc.gears);
  const wireNames = new Set<string>();
  for (const { entry, index } of entries(doc.wires)) {
    for (const end of ["from", "to"] as const) {
      const ref = entry[end];
      const gear = typeof ref === "string" ? PORT_REF.exec(ref)?.[1] : undefined;
      if (gear !== undefined && gearsListed && !gears.has(gear))
        add(["wires", index, end], `wire ${end} ${ref} names an unknown gear ${gear}`);
    }
    const given = entry.name;
    if (given !== undefined && labelOf(entry, "name") === undefined) continue;
    const name = wireName({ name: given as string | undefined }, index);
    if (wireNames.has(name)) add(["wires", index, "name"], `wire name ${name} is used twice`);
    wireNames.add(name);
  }
  return problems;
}

/** The wire's name: given, or `w<position>` (1-based). Used in its subject fluxrig.msg.<scenario>.<wire>. */
export function wireName(wire: { name?: string | undefined }, index: number): string {
  return wire.name ?? `w${index + 1}`;
}
