// The fleet as the fleet page holds it: one compact row per Rack, sorted by name, filtered in memory. Pure, tested.

/** What a fleet row shows; built from the API's Rack body, keeping none of the rest. */
export interface FleetRow {
  name: string;
  entity_id: string;
  entity_id_hex: string;
  status: string;
  last_seen: string | null;
  version: string;
  host: string;
  gears: string;
  gearsBad: boolean;
}

export interface FleetFilter {
  /** "" for every status. */
  status: string;
  /** Part of a name, or the start of an entity id (decimal or 0x hex); "" for all. */
  search: string;
}

/** Whether a row passes the filter. */
export function matches(row: FleetRow, filter: FleetFilter): boolean {
  if (filter.status !== "" && row.status !== filter.status) return false;
  const q = filter.search.trim().toLowerCase();
  if (q === "") return true;
  if (row.name.includes(q)) return true;
  if (/^[0-9]+$/.test(q)) return row.entity_id.startsWith(q);
  if (/^0x[0-9a-f]+$/.test(q)) return row.entity_id_hex.toLowerCase().startsWith(q);
  return false;
}

/** The rows by name, kept sorted, with in-place status changes and inserts. */
export class FleetStore {
  readonly rows: FleetRow[] = [];

  /** Adds rows that arrive sorted after the last one (a page of the list), or inserts them where they belong. */
  add(rows: readonly FleetRow[]): void {
    for (const row of rows) this.upsert(row);
  }

  /** Index of `name`, or -(insertion point) - 1. */
  find(name: string): number {
    let lo = 0;
    let hi = this.rows.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = this.rows[mid]!.name;
      if (at === name) return mid;
      if (at < name) lo = mid + 1;
      else hi = mid - 1;
    }
    return -lo - 1;
  }

  upsert(row: FleetRow): void {
    const last = this.rows[this.rows.length - 1];
    if (last === undefined || last.name < row.name) {
      this.rows.push(row);
      return;
    }
    const i = this.find(row.name);
    if (i >= 0) this.rows[i] = row;
    else this.rows.splice(-i - 1, 0, row);
  }

  /** Sets a Rack's status; false when the Rack is not held. */
  setStatus(name: string, status: string): boolean {
    const i = this.find(name);
    if (i < 0) return false;
    this.rows[i] = { ...this.rows[i]!, status };
    return true;
  }

  remove(name: string): boolean {
    const i = this.find(name);
    if (i < 0) return false;
    this.rows.splice(i, 1);
    return true;
  }

  /** The indexes of the rows passing the filter, in name order. */
  filter(filter: FleetFilter): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.rows.length; i += 1) if (matches(this.rows[i]!, filter)) out.push(i);
    return out;
  }
}
