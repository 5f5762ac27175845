// The few REST calls the lab makes to its Mixer (docs/api.md): the Rack list for the status table.

/** The fields of a Rack (GET /api/v1/racks item) the status table shows. */
export interface RackItem {
  name: string;
  status: string;
  entity_id: string;
  entity_id_hex: string;
  machine_id: number;
  last_seen: string | null;
  stats: RackStats | null;
}

/** The parts of a heartbeat's `stats` the table reads; all optional, as a pending Rack has no gears. */
export interface RackStats {
  gears?: { running?: number; failed?: number };
  messages?: { in?: number; out?: number };
}

const PAGE = 1000;

/**
 * Every Rack, following `next` across pages; rejects with the API's error on a failed call.
 * @example const racks = await listRacks({ apiUrl: "http://127.0.0.1:8090", token, signal });
 */
export async function listRacks(opts: {
  apiUrl: string;
  token: string;
  signal?: AbortSignal;
}): Promise<RackItem[]> {
  const racks: RackItem[] = [];
  let after: string | null = null;
  do {
    const query = new URLSearchParams({ limit: String(PAGE), ...(after === null ? {} : { after }) });
    const response = await fetch(`${opts.apiUrl}/api/v1/racks?${query}`, {
      headers: { authorization: `Bearer ${opts.token}` },
      signal: opts.signal ?? null,
    });
    const body = (await response.json()) as
      | { items: RackItem[]; next: string | null }
      | { error: { code: string; message: string } };
    if (!response.ok || !("items" in body)) {
      const error = "error" in body ? `${body.error.code}: ${body.error.message}` : "unexpected body";
      throw new Error(`GET /api/v1/racks: HTTP ${response.status} ${error}`);
    }
    racks.push(...body.items);
    after = body.next;
  } while (after !== null);
  return racks;
}
