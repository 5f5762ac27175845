// Hand-aligned columns and label/value blocks, measured by visible width so colour codes do not skew them.

// SGR sequences only: that is all picocolors emits.
// biome-ignore lint/suspicious/noControlCharactersInRegex: an SGR sequence starts with ESC.
const ANSI = /\x1b\[[0-9;]*m/g;

/** The text without colour codes. @example stripAnsi("\x1b[31mab\x1b[39m") // "ab" */
export function stripAnsi(s: string): string {
  return s.replace(ANSI, "");
}

/** The width of a string as a terminal shows it (colour codes take no space). @example visibleWidth("\x1b[31mab\x1b[39m") // 2 */
export function visibleWidth(s: string): number {
  return [...stripAnsi(s)].length;
}

function pad(s: string, width: number, align: "left" | "right"): string {
  const fill = " ".repeat(Math.max(0, width - visibleWidth(s)));
  return align === "right" ? fill + s : s + fill;
}

/** One column: its header and how to show a row in it. */
export interface Column<T> {
  header: string;
  value: (row: T) => string;
  align?: "left" | "right";
  /** The least width, so rows rendered one at a time (a followed stream) still line up. */
  minWidth?: number;
}

/**
 * Rows under a header line, columns two spaces apart, no trailing spaces. `styleHeader` may colour the header.
 *
 * @example
 * renderTable([{ n: "a", c: 1 }], [{ header: "NAME", value: (r) => r.n }, { header: "N", value: (r) => String(r.c) }]);
 * // "NAME  N\na     1"
 */
export function renderTable<T>(
  rows: readonly T[],
  columns: readonly Column<T>[],
  styleHeader: (s: string) => string = (s) => s,
): string {
  const cells = rows.map((row) => columns.map((c) => c.value(row).replace(/\s*\n\s*/g, " ")));
  const widths = columns.map((c, i) =>
    Math.max(c.minWidth ?? 0, visibleWidth(c.header), ...cells.map((r) => visibleWidth(r[i] ?? ""))),
  );
  const line = (values: readonly string[], style: (s: string) => string = (s) => s) =>
    values
      .map((v, i) => {
        const col = columns[i];
        const last = i === values.length - 1;
        const align = col?.align ?? "left";
        return style(last && align === "left" ? v : pad(v, widths[i] ?? 0, align));
      })
      .join("  ")
      .trimEnd();
  return [
    line(
      columns.map((c) => c.header),
      styleHeader,
    ),
    ...cells.map((r) => line(r)),
  ].join("\n");
}

/**
 * Label/value pairs with the values aligned; a multi-line value continues under its first line.
 *
 * @example
 * renderFields([["name", "rack-1"], ["status", "active"]]); // "name    rack-1\nstatus  active"
 */
export function renderFields(
  fields: ReadonlyArray<readonly [string, string]>,
  styleLabel: (s: string) => string = (s) => s,
): string {
  const width = Math.max(0, ...fields.map(([label]) => visibleWidth(label)));
  return fields
    .map(([label, value]) => {
      const [first = "", ...rest] = value.split("\n");
      const indent = " ".repeat(width + 2);
      return [
        `${styleLabel(pad(label, width, "left"))}  ${first}`.trimEnd(),
        ...rest.map((l) => indent + l),
      ].join("\n");
    })
    .join("\n");
}
