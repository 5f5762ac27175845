// `fluxrig-rack status`: what a state dir holds (key, cluster pin, passport) and whether the passport verifies.

import type { KeyObject } from "node:crypto";
import { readdir } from "node:fs/promises";
import { formatEntityIdHex, parseEntityId } from "@fluxrig/entity-id";
import {
  decodePassportPayload,
  keyFingerprint,
  keyId,
  loadPrivateKey,
  type PassportPayload,
  publicKeyFromPrivate,
  publicKeyToBase64url,
  readStateFlux,
  renewalDueAt,
  verifyPassport,
} from "@fluxrig/passport";
import { decodeUserJwt, readBusJwt, usableJwt } from "../bus/bus-credential.js";
import { makePin, readPinFile } from "../identity/cluster-pin.js";
import { describeRefusal } from "../identity/passport-checks.js";
import { statePaths } from "../identity/state-paths.js";
import { readScenarioFile } from "../scenario-cache.js";

/** The overall answer, also the exit code's source: only `active` exits 0. */
export type StatusVerdict = "active" | "no-passport" | "invalid" | "expired" | "revoked" | "unverifiable";

/** Everything `status` reports, as printed with --json. */
export interface RackStatusReport {
  state_dir: string;
  verdict: StatusVerdict;
  key:
    | { present: true; key_id: string; fingerprint: string; public_key: string }
    | { present: false; problem: string };
  cluster:
    | { pinned: true; key_id: string; source: string; pinned_at: string }
    | { pinned: false; problem?: string };
  passport:
    | { present: false; problem?: string }
    | ({
        present: true;
        verified: boolean;
        problem?: { verdict: string; code: string; detail: string };
        entity_id_hex?: string;
        renew_at?: string;
        expired?: boolean;
      } & Partial<PassportPayload>);
  scenario: { name: string; version: string } | null;
  /** This Rack's own bus credential (bus.jwt, JWT bus mode): its expiry and grant sizes. */
  bus_credential:
    | { present: false; problem?: string }
    | { present: true; expires_at: string | null; usable: boolean; publish: number; subscribe: number };
  set_aside: string[];
}

/** Options of {@link collectStatus}. */
export interface CollectStatusOptions {
  stateDir: string;
  /** The Rack's name when known (from --config): checked against the passport. */
  name?: string | undefined;
  /** A cluster key pin from the config, which wins over rack.json. */
  configClusterKey?: string | undefined;
  now: Date;
}

/** Reads a state dir without changing anything in it. */
export async function collectStatus(opts: CollectStatusOptions): Promise<RackStatusReport> {
  const paths = statePaths(opts.stateDir);
  const report: RackStatusReport = {
    state_dir: paths.dir,
    verdict: "no-passport",
    key: { present: false, problem: "not read" },
    cluster: { pinned: false },
    passport: { present: false },
    scenario: null,
    bus_credential: { present: false },
    set_aside: [],
  };
  let rackKey: KeyObject | undefined;
  try {
    rackKey = publicKeyFromPrivate(await loadPrivateKey(paths.key));
    report.key = {
      present: true,
      key_id: keyId(rackKey),
      fingerprint: keyFingerprint(rackKey),
      public_key: publicKeyToBase64url(rackKey),
    };
  } catch (error) {
    report.key = { present: false, problem: error instanceof Error ? error.message : String(error) };
  }
  let clusterKey: KeyObject | undefined;
  try {
    const pin =
      opts.configClusterKey !== undefined
        ? makePin({ publicKeyB64: opts.configClusterKey, source: "config", now: opts.now })
        : await readPinFile(paths.rackJson);
    if (pin !== null) {
      clusterKey = pin.publicKey;
      report.cluster = { pinned: true, key_id: pin.keyId, source: pin.source, pinned_at: pin.pinnedAt };
    }
  } catch (error) {
    report.cluster = { pinned: false, problem: error instanceof Error ? error.message : String(error) };
  }
  await readPassport({ report, path: paths.stateFlux, clusterKey, rackKey, opts });
  const scenario = await readScenarioFile(paths.scenario);
  report.scenario = scenario ? { ...scenario.scenario } : null;
  report.bus_credential = await readBusCredential(paths.busJwt, opts.now);
  report.set_aside = (await readdir(paths.dir).catch(() => [] as string[]))
    .filter((f) => /^state\.flux\.[a-z]+-/.test(f))
    .sort();
  return report;
}

async function readBusCredential(path: string, now: Date): Promise<RackStatusReport["bus_credential"]> {
  try {
    const stored = await readBusJwt(path);
    if (stored.jwt === undefined)
      return stored.why === "no bus.jwt" ? { present: false } : { present: false, problem: stored.why };
    const facts = decodeUserJwt(stored.jwt);
    return {
      present: true,
      expires_at: facts.expiresAt === undefined ? null : new Date(facts.expiresAt * 1000).toISOString(),
      usable: usableJwt(stored.jwt, now),
      publish: facts.grant.pub.length,
      subscribe: facts.grant.sub.length,
    };
  } catch (error) {
    return { present: false, problem: error instanceof Error ? error.message : String(error) };
  }
}

async function readPassport(ctx: {
  report: RackStatusReport;
  path: string;
  clusterKey: KeyObject | undefined;
  rackKey: KeyObject | undefined;
  opts: CollectStatusOptions;
}): Promise<void> {
  const { report } = ctx;
  let payload: PassportPayload;
  let envelope: Awaited<ReturnType<typeof readStateFlux>>;
  try {
    envelope = await readStateFlux(ctx.path);
    if (envelope === null) return;
    payload = decodePassportPayload(envelope);
  } catch (error) {
    const refusal = describeRefusal(error);
    report.passport = { present: true, verified: false, problem: refusal };
    report.verdict = "invalid";
    return;
  }
  const expiresMs = Date.parse(payload.expires_at);
  report.passport = {
    present: true,
    verified: false,
    ...payload,
    entity_id_hex: formatEntityIdHex(parseEntityId(payload.entity_id)),
    renew_at: new Date(renewalDueAt(payload)).toISOString(),
    expired: ctx.opts.now.getTime() >= expiresMs,
  };
  if (ctx.clusterKey === undefined) {
    report.passport.problem = {
      verdict: "unverifiable",
      code: "NO_CLUSTER_PIN",
      detail: "no cluster key is pinned",
    };
    report.verdict = "unverifiable";
    return;
  }
  try {
    verifyPassport(envelope, {
      clusterPublicKey: ctx.clusterKey,
      ...(ctx.rackKey ? { rackPublicKey: ctx.rackKey } : {}),
      ...(ctx.opts.name ? { name: ctx.opts.name } : {}),
      now: ctx.opts.now,
    });
    report.passport.verified = true;
    report.verdict = payload.status === "revoked" ? "revoked" : "active";
  } catch (error) {
    const refusal = describeRefusal(error);
    report.passport.problem = refusal;
    report.verdict = refusal.verdict === "expired" ? "expired" : "invalid";
  }
}

/** The human form of a report. */
export function formatStatus(report: RackStatusReport): string {
  const lines: string[] = [`state dir   ${report.state_dir}`];
  lines.push(
    report.key.present
      ? `rack key    ${report.key.fingerprint} (${report.key.key_id})`
      : `rack key    none (${report.key.problem})`,
  );
  lines.push(
    report.cluster.pinned
      ? `cluster     ${report.cluster.key_id} (pinned from ${report.cluster.source} at ${report.cluster.pinned_at})`
      : `cluster     not pinned${report.cluster.problem ? ` (${report.cluster.problem})` : ""}`,
  );
  const p = report.passport;
  if (!p.present) {
    lines.push("passport    none");
  } else {
    const check = p.verified ? "verifies" : `DOES NOT VERIFY: ${p.problem?.verdict} (${p.problem?.detail})`;
    lines.push(`passport    ${check}`);
    if (p.entity_id !== undefined) {
      lines.push(`  entity    ${p.entity_id} (${p.entity_id_hex}), machine ${p.machine_id}, name ${p.name}`);
      lines.push(`  status    ${p.status}, serial ${p.serial}, cluster ${p.cluster}`);
      lines.push(`  issued    ${p.issued_at}`);
      lines.push(`  expires   ${p.expires_at}${p.expired ? " (EXPIRED)" : `, renewal due ${p.renew_at}`}`);
    }
  }
  lines.push(
    `scenario    ${report.scenario ? `${report.scenario.name} v${report.scenario.version}` : "none"}`,
  );
  const bus = report.bus_credential;
  lines.push(
    bus.present
      ? `bus jwt     ${bus.usable ? "valid" : "EXPIRED (or expiring within 30 s)"}, expires ${bus.expires_at ?? "never"}, ${bus.publish} publish / ${bus.subscribe} subscribe subjects`
      : `bus jwt     none${bus.problem ? ` (${bus.problem})` : ""}`,
  );
  if (report.set_aside.length > 0) lines.push(`set aside   ${report.set_aside.join(", ")}`);
  lines.push(`verdict     ${report.verdict}`);
  return lines.join("\n");
}
