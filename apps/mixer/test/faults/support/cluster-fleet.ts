// Racks and checks for the fault tests of cluster mode with real Mixer processes (mixer-cluster.faults.test.ts): Racks
// that say a sealed hello over a bootstrap connection (one hello gives the entity id, MachineID and bus credential, as
// apps/rack does) and heartbeat over their own connection as themselves; the registry as KV holds it (read through the
// stream leader as the Mixers' fleet user), as each Mixer's API lists it, and as each Mixer's DuckDB file holds it.
import { CONTROL_SIGNATURE_HEADER, keyId, nonceAuthenticator, verifyControlMessage } from "@fluxrig/passport";
import { type MixerCluster, ScriptedRack } from "@fluxrig/testkit";
import {
  decodeHelloReply,
  encodeMessage,
  type HelloReply,
  heartbeatSubject,
  INBOX_PREFIXES,
  openSealedHelloReply,
  SUBJECTS,
} from "@fluxrig/wire";
import type { NatsConnection } from "@nats-io/transport-node";
import { loadBusKeys } from "../../../src/bus-auth/key-store.js";
import { mixerFleetUser } from "../../../src/bus-auth/service-users.js";
import type { KvBucket } from "../../../src/kv/kv-bucket.js";
import { openRegistryBuckets, type RegistryBuckets } from "../../../src/kv/registry-buckets.js";
import {
  type ClaimRecord,
  type EntityRecord,
  fromKeyToken,
  layoutKeys,
} from "../../../src/kv/registry-layout.js";
import { snapshotRegistry } from "./registry-snapshot.js";

/** How one hello ended, as the Rack saw it. */
export type HelloOutcome =
  | { kind: "answered"; reply: HelloReply; sentAt: number; answeredAt: number }
  | { kind: "refused"; code: string; message: string; sentAt: number; answeredAt: number }
  | {
      kind: "no_answer";
      error: string;
      sentAt: number;
      /** The node the Rack's connection was on when it sent the hello, and when the wait ended. */
      link: string;
    };

/** What the Mixers confirmed to one Rack: the first reply naming its entity id and MachineID. */
export interface Confirmed {
  entityId: string;
  machineId: number;
  status: string;
  atMs: number;
}

/** A Rack's facts as one side (KV, an API, a file) holds them; compared across sides with {@link diffRackViews}. */
export interface RackView {
  entityId: string;
  machineId: number;
  status: string;
  /** Absent where the side does not show it (the API list). */
  publicKey?: string;
  passportSerial?: number;
}

/**
 * Scripted Racks of one test on a Mixer cluster: each hello is sealed (one hello gives everything), its Cluster Key
 * signature is checked against the cluster's key, and every outcome is kept per Rack.
 */
export class ClusterFleet {
  readonly racks = new Map<string, ScriptedRack>();
  readonly confirmed = new Map<string, Confirmed>();
  /** Racks a reply named with another entity id or MachineID than their first: each one a product mistake. */
  readonly problems: string[] = [];
  /** Replies whose Cluster Key signature did not verify. */
  badSignatures = 0;
  #next = 0;
  #conn = 0;

  constructor(
    readonly bootstrap: readonly NatsConnection[],
    readonly clusterPublicKey: string,
    readonly prefix: string,
  ) {}

  /** `count` new Racks (fresh keys), spread over the bootstrap connections, or all on `via`. */
  add(count: number, via?: NatsConnection): ScriptedRack[] {
    const out: ScriptedRack[] = [];
    for (let i = 0; i < count; i++) {
      const name = `${this.prefix}-${String(this.#next++).padStart(5, "0")}`;
      const nc = via ?? this.bootstrap[this.#conn++ % this.bootstrap.length]!;
      const rack = new ScriptedRack(nc, name, undefined, { clusterPublicKey: this.clusterPublicKey });
      this.racks.set(name, rack);
      out.push(rack);
    }
    return out;
  }

  /** Racks whose enrollment no reply confirmed yet. */
  unconfirmed(): ScriptedRack[] {
    return [...this.racks.values()].filter((r) => !this.confirmed.has(r.name));
  }

  /**
   * One sealed hello with its own timeout (a hello refused for want of quorum is answered only after the Mixer's KV
   * retry window, 20 s). Never throws for the bus's or the Mixer's reasons: they are outcomes. One hello, never said
   * again here: a caller that acts as a Rack says it again (mixer-cluster.faults.test.ts, probeHellos).
   */
  async hello(rack: ScriptedRack, timeoutMs = 10_000): Promise<HelloOutcome> {
    const bytes = encodeMessage(rack.buildHello({ sealed: true, passport: undefined }));
    const replyKey = rack.replyKey!;
    const sentAt = Date.now();
    const sentVia = rack.nc.getServer();
    let data: Uint8Array;
    let header: string | undefined;
    try {
      const msg = await rack.nc.request(SUBJECTS.hello, bytes, { timeout: timeoutMs });
      data = msg.data;
      header = msg.headers?.get(CONTROL_SIGNATURE_HEADER);
    } catch (error) {
      const endVia = rack.nc.getServer();
      const link = endVia === sentVia ? sentVia : `${sentVia} then ${endVia}`;
      return { kind: "no_answer", error: (error as Error).message, sentAt, link };
    }
    const answeredAt = Date.now();
    try {
      verifyControlMessage({ publicKey: this.clusterPublicKey, bytes: data, header });
    } catch (error) {
      this.badSignatures++;
      return {
        kind: "refused",
        code: "bad_signature",
        message: (error as Error).message,
        sentAt,
        answeredAt,
      };
    }
    const decoded = decodeHelloReply(data);
    if (!decoded.ok) {
      return { kind: "refused", code: "undecodable", message: decoded.error.message, sentAt, answeredAt };
    }
    if (decoded.value.error !== undefined) {
      const { code, message } = decoded.value.error;
      return { kind: "refused", code, message, sentAt, answeredAt };
    }
    const reply = openSealedHelloReply(decoded.value, replyKey, rack.publicKey);
    if (reply.entity_id === undefined || reply.machine_id === undefined) {
      return { kind: "refused", code: "incomplete", message: JSON.stringify(reply), sentAt, answeredAt };
    }
    const before = this.confirmed.get(rack.name);
    if (
      before !== undefined &&
      (before.entityId !== reply.entity_id || before.machineId !== reply.machine_id)
    ) {
      this.problems.push(
        `${rack.name}: confirmed ${before.entityId}/MachineID ${before.machineId}, a later hello with the same key got ${reply.entity_id}/${reply.machine_id}`,
      );
    }
    if (before === undefined) {
      this.confirmed.set(rack.name, {
        entityId: reply.entity_id,
        machineId: reply.machine_id,
        status: reply.status,
        atMs: answeredAt,
      });
    }
    rack.entityId = reply.entity_id;
    if (reply.bus_credential !== undefined) rack.busCredential = reply.bus_credential;
    return { kind: "answered", reply, sentAt, answeredAt };
  }

  /** Confirmed entity ids, MachineIDs and names that appear more than once (each must be 0). */
  duplicates(): { entityIds: number; machineIds: number } {
    const count = (values: Array<string | number>) => values.length - new Set(values).size;
    const all = [...this.confirmed.values()];
    return { entityIds: count(all.map((c) => c.entityId)), machineIds: count(all.map((c) => c.machineId)) };
  }
}

/** A heartbeat over the Rack's own connection (as itself, JWT bus); false when it has none open. */
export function heartbeat(rack: ScriptedRack): boolean {
  const light = rack.light;
  if (light === undefined || light.closed) return false;
  light.publish(heartbeatSubject(rack.name), encodeMessage(rack.heartbeatMessage()));
  return true;
}

/** The host and port of a node's client URL, for a Rack's own (light) connection. */
export function hostPort(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
}

/** A connection as the Mixers' fleet user (the one bus user allowed the registry's buckets), from a data dir's keys. */
export async function fleetUserConnection(mc: MixerCluster): Promise<NatsConnection> {
  const keys = await loadBusKeys(mc.dataDirs[0]!);
  const user = mixerFleetUser(keys, { nowSeconds: Math.floor(Date.now() / 1000), ttlSeconds: 3600 });
  return mc.nats.connect({
    name: "faults-kv-reader",
    authenticator: nonceAuthenticator({ privateKey: user.privateKey, jwt: () => user.jwt }),
    inboxPrefix: INBOX_PREFIXES.mixer,
  });
}

/** The registry's buckets, read through the stream leaders. */
export function openBuckets(nc: NatsConnection): Promise<RegistryBuckets> {
  return openRegistryBuckets(nc, { replicas: 3, writerId: "faults-reader", retryWindowMs: 30_000 });
}

/** What KV holds: every Rack record by name, and every claim's holder, with what disagrees inside KV. */
export interface KvRegistry {
  racks: Map<string, RackView>;
  /** Racks whose MachineID, name or key claim is missing or held by another entity. */
  unclaimed: string[];
  /** Live claims held by no record that holds them (a writer died between claim and record). */
  orphans: string[];
  /** Rack MachineIDs held by more than one record. */
  sharedMachineIds: number;
  claims: number;
}

async function readAll<T>(bucket: KvBucket, keys: string[]): Promise<Map<string, T>> {
  const out = new Map<string, T>();
  const queue = [...keys];
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
        const record = await bucket.get<T>(key);
        if (record !== null) out.set(key, record.value);
      }
    }),
  );
  return out;
}

/** Reads every record and claim of the registry through the stream leaders, and checks them against each other. */
export async function readKvRegistry(kv: RegistryBuckets): Promise<KvRegistry> {
  const records = await readAll<EntityRecord>(kv.racks, await kv.racks.keys());
  const claims = await readAll<ClaimRecord>(kv.claims, await kv.claims.keys());
  const racks = new Map<string, RackView>();
  const unclaimed: string[] = [];
  const holders = new Map<string, EntityRecord>();
  const machineIds = new Map<number, number>();
  for (const [key, r] of records) {
    holders.set(r.entity_id, r);
    machineIds.set(r.machine_id, (machineIds.get(r.machine_id) ?? 0) + 1);
    if (!key.startsWith("rack.")) continue;
    if (racks.has(r.name)) unclaimed.push(`${r.name}: two records (${key} and another)`);
    racks.set(r.name, {
      entityId: r.entity_id,
      machineId: r.machine_id,
      status: r.status,
      ...(r.lifecycle === null
        ? {}
        : { publicKey: r.lifecycle.public_key, passportSerial: r.lifecycle.passport.serial }),
    });
    const wanted = [
      layoutKeys.machine(r.machine_id),
      layoutKeys.name(r.name),
      ...(r.lifecycle === null ? [] : [layoutKeys.key(keyId(r.lifecycle.public_key))]),
    ];
    for (const claim of wanted) {
      const holder = claims.get(claim)?.entity_id;
      if (holder !== r.entity_id)
        unclaimed.push(`${r.name} (${r.entity_id}): claim ${claim} held by ${holder ?? "nobody"}`);
    }
  }
  const orphans: string[] = [];
  for (const [key, c] of claims) {
    if (c.retired !== null) continue;
    const holder = holders.get(c.entity_id);
    const holds =
      holder !== undefined &&
      (c.kind === "machine"
        ? key === layoutKeys.machine(holder.machine_id)
        : c.kind === "name"
          ? fromKeyToken(key.slice("name.".length)) === holder.name
          : holder.lifecycle === null || key === layoutKeys.key(keyId(holder.lifecycle.public_key)));
    if (!holds) orphans.push(`${key} -> ${c.entity_id}`);
  }
  const sharedMachineIds = [...machineIds.values()].filter((n) => n > 1).length;
  return { racks, unclaimed, orphans, sharedMachineIds, claims: claims.size };
}

interface ApiRack {
  entity_id: string;
  machine_id: number;
  name: string;
  status: string;
}

/** Every Rack Mixer `i`'s API lists, page by page (`after` = the previous page's `next`). */
export async function listRacks(mc: MixerCluster, i: number): Promise<Map<string, RackView>> {
  const out = new Map<string, RackView>();
  let after: string | null = null;
  for (let page = 0; page < 1_000; page++) {
    const query: string = after === null ? "" : `&after=${encodeURIComponent(after)}`;
    const res = await mc.api<{ items: ApiRack[]; next: string | null }>(
      i,
      `/api/v1/racks?limit=1000${query}`,
    );
    if (res.status !== 200) throw new Error(`Mixer ${i} GET /api/v1/racks: HTTP ${res.status}`);
    for (const r of res.body.items)
      out.set(r.name, { entityId: r.entity_id, machineId: r.machine_id, status: r.status });
    after = res.body.next;
    if (after === null) return out;
  }
  throw new Error(`Mixer ${i}: more than 1,000 pages of Racks`);
}

/** Every Rack a stopped Mixer's DuckDB file holds (read from a copy of the file and its WAL). */
export async function fileRacks(dataDir: string): Promise<{ racks: Map<string, RackView>; shared: number }> {
  const snap = await snapshotRegistry(dataDir);
  const racks = new Map<string, RackView>();
  for (const [name, r] of snap.racks) {
    racks.set(name, {
      entityId: r.entityId,
      machineId: r.machineId,
      status: r.status,
      ...(r.publicKey === null ? {} : { publicKey: r.publicKey }),
      ...(r.passportSerial === null ? {} : { passportSerial: r.passportSerial }),
    });
  }
  return { racks, shared: snap.sharedMachineIds.length };
}

/**
 * Where two views of the registry disagree: Racks only one holds, and fields both show that differ (a field one side
 * does not show is not compared). One line per difference, the first `limit` of them.
 */
export function diffRackViews(
  a: Map<string, RackView>,
  b: Map<string, RackView>,
  labels: [string, string],
  limit = 20,
): string[] {
  const out: string[] = [];
  for (const [name, x] of a) {
    const y = b.get(name);
    if (y === undefined) {
      out.push(`${name}: in ${labels[0]}, not in ${labels[1]}`);
      continue;
    }
    for (const field of ["entityId", "machineId", "status", "publicKey", "passportSerial"] as const) {
      if (x[field] === undefined || y[field] === undefined) continue;
      if (x[field] !== y[field])
        out.push(`${name}: ${field} ${labels[0]} ${x[field]}, ${labels[1]} ${y[field]}`);
    }
  }
  for (const name of b.keys()) if (!a.has(name)) out.push(`${name}: in ${labels[1]}, not in ${labels[0]}`);
  return out.length > limit ? [...out.slice(0, limit), `... and ${out.length - limit} more`] : out;
}

/** Confirmed enrollments that a view lacks or holds otherwise: each one a lost registration. */
export function lostConfirmed(fleet: ClusterFleet, view: Map<string, RackView>, label: string): string[] {
  const out: string[] = [];
  for (const [name, c] of fleet.confirmed) {
    const v = view.get(name);
    if (v === undefined)
      out.push(`${name}: confirmed ${c.entityId}/MachineID ${c.machineId}, not in ${label}`);
    else if (v.entityId !== c.entityId || v.machineId !== c.machineId)
      out.push(
        `${name}: confirmed ${c.entityId}/MachineID ${c.machineId}, ${label} has ${v.entityId}/${v.machineId}`,
      );
    else {
      const key = fleet.racks.get(name)?.publicKey;
      if (v.publicKey !== undefined && v.publicKey !== key) out.push(`${name}: ${label} holds another key`);
    }
  }
  return out;
}
