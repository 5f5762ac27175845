// A scripted stand-in for the Mixer on a real nats-server: answers hellos, records heartbeats, pushes passports.

import {
  CONTROL_SIGNATURE_HEADER,
  type PassportEnvelope,
  publicKeyFromBase64url,
  sealContext,
  sealReply,
  signControlMessage,
  verifyPassport,
} from "@fluxrig/passport";
import {
  type BusCredential,
  decodeHeartbeat,
  decodeHelloRequest,
  encodeMessage,
  type Heartbeat,
  type HelloReply,
  type HelloRequest,
  INBOX_PREFIXES,
  type PassportPush,
  rackPassportSubject,
  rackScenarioSubject,
  type ScenarioPush,
  SUBJECTS,
  verifyHelloSignature,
} from "@fluxrig/wire";
import { headers, type MsgHdrs, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { TestCluster } from "./test-cluster.js";

/** How the scripted Mixer answers hellos. */
/** A scenario of two gears: a ticker every 50 ms wired to a counter that reports every `every` ticks. */
export function tickerScenarioPush(name: string, every: number): ScenarioPush {
  return {
    v: 1,
    scenario: { name, version: "1" },
    gears: [
      { name: "tick", type: "ticker", config: { interval: "50ms" } },
      { name: "count", type: "counter", config: { every } },
    ],
    wires: [{ name: "ticks", from: "tick.out", to: "count.in", subject: `fluxrig.msg.${name}.ticks` }],
    ts: new Date().toISOString(),
  };
}

export type MixerMode = "pending" | "active" | "rejected" | "revoked" | "name_taken" | "silent";

/** Issues a Rack's bus credential (jwt bus mode) for the status it is answered with. */
export type CredentialIssuer = (rack: {
  name: string;
  publicKey: string;
  status: "pending" | "active";
}) => BusCredential;

/** Options of {@link ScriptedMixer}. */
export interface ScriptedMixerOptions {
  cluster?: TestCluster;
  machineId?: number;
  heartbeatIntervalMs?: number;
  mode?: MixerMode;
  /** Passport lifetime for issued passports (default 1 h). */
  ttlMs?: number;
  /** Reissue instead of confirming a presented passport once it is past this fraction of its life. */
  renewAfter?: number;
  /** Send replies and pushes without the Cluster Key signature (what a Rack must refuse). */
  unsigned?: boolean;
  /** jwt bus mode: hello replies (pending, active) and adoption pushes carry a credential from this. */
  credentials?: CredentialIssuer;
  /**
   * A bootstrap hello with a `reply_key` gets its full reply sealed to it, as the Mixer does (default). `false`: the
   * minimal reply whatever the hello says; `tamper`: sealed, then one ciphertext byte flipped before signing (the
   * signature verifies, the box does not open).
   */
  seal?: boolean | "tamper";
}

/**
 * Answers `fluxrig.agent.hello` the way the Mixer would for one scripted mode, checks every hello's
 * signature, and records hellos and heartbeats.
 *
 * @example
 * const mixer = await ScriptedMixer.start(nc, { mode: "pending" }); await mixer.adopt("rack-1");
 */
export class ScriptedMixer {
  readonly cluster: TestCluster;
  readonly hellos: HelloRequest[] = [];
  readonly heartbeats: Heartbeat[] = [];
  readonly badHellos: string[] = [];
  /** The reply subject of each hello, in order: `_INBOX._bootstrap.…` or the Rack's own `_INBOX.<name>.…`. */
  readonly helloInboxes: string[] = [];
  mode: MixerMode;
  readonly #nc: NatsConnection;
  readonly #opts: ScriptedMixerOptions;
  readonly #subs: Subscription[] = [];
  readonly #keys = new Map<string, string>();

  private constructor(nc: NatsConnection, opts: ScriptedMixerOptions) {
    this.#nc = nc;
    this.#opts = opts;
    this.cluster = opts.cluster ?? new TestCluster();
    this.mode = opts.mode ?? "pending";
  }

  static async start(nc: NatsConnection, opts: ScriptedMixerOptions = {}): Promise<ScriptedMixer> {
    const mixer = new ScriptedMixer(nc, opts);
    mixer.#subs.push(
      nc.subscribe(SUBJECTS.hello, {
        callback: (_e, msg) =>
          mixer.#onHello(msg.data, msg.reply ?? "", (r) => {
            const bytes = encodeMessage(r);
            msg.respond(bytes, { headers: mixer.signed(bytes) });
          }),
      }),
      nc.subscribe(SUBJECTS.heartbeatAll, {
        callback: (_e, msg) => {
          const hb = decodeHeartbeat(msg.data);
          if (hb.ok) mixer.heartbeats.push(hb.value);
        },
      }),
    );
    await nc.flush();
    return mixer;
  }

  get entityId(): string {
    return TestCluster.entityId(this.#opts.machineId ?? 100);
  }

  /** Heartbeats of one status. */
  beats(status: Heartbeat["status"]): Heartbeat[] {
    return this.heartbeats.filter((h) => h.status === status);
  }

  /** Issues a passport to a Rack that said hello and pushes it ("issued"); hellos are answered active from now on. */
  async adopt(name: string): Promise<PassportEnvelope> {
    return this.#pushSigned(name, { kind: "issued", status: "active" });
  }

  /** Pushes a signed revocation; hellos are answered revoked from now on. */
  async revoke(name: string): Promise<void> {
    await this.#pushSigned(name, { kind: "revoked", status: "revoked", reason: "test" });
  }

  /** Issues a passport of the push's status, answers hellos with that status from now on, and pushes it. */
  async #pushSigned(
    name: string,
    push: Pick<PassportPush, "kind" | "reason"> & { status: "active" | "revoked" },
  ): Promise<PassportEnvelope> {
    const env = this.#issue(name, push.status);
    this.mode = push.status;
    const credential = push.status === "active" ? this.#credential(name, "active") : undefined;
    await this.push(name, {
      v: 1,
      ...push,
      passport: env,
      ...(credential !== undefined ? { bus_credential: credential } : {}),
      ts: new Date().toISOString(),
    });
    return env;
  }

  async push(name: string, push: PassportPush): Promise<void> {
    const bytes = encodeMessage(push);
    this.#nc.publish(rackPassportSubject(name), bytes, { headers: this.signed(bytes) });
    await this.#nc.flush();
  }

  /** A credential-only push (the Rack's grant changed), as the Mixer sends on a scenario change. */
  async pushCredential(name: string, credential: BusCredential): Promise<void> {
    await this.push(name, {
      v: 1,
      kind: "credential",
      status: "active",
      bus_credential: credential,
      ts: new Date().toISOString(),
    });
  }

  async pushScenario(name: string, push: ScenarioPush): Promise<void> {
    const bytes = encodeMessage(push);
    this.#nc.publish(rackScenarioSubject(name), bytes, { headers: this.signed(bytes) });
    await this.#nc.flush();
  }

  /** The Cluster Key signature header for these exact bytes, as the Mixer sends it (none when `unsigned`). */
  signed(bytes: Uint8Array): MsgHdrs | undefined {
    if (this.#opts.unsigned) return undefined;
    const h = headers();
    h.set(
      CONTROL_SIGNATURE_HEADER,
      signControlMessage(this.cluster.keys.privateKey, this.cluster.keyId, bytes),
    );
    return h;
  }

  stop(): void {
    for (const sub of this.#subs) sub.unsubscribe();
  }

  /** A round trip to the server: everything published to it before now has reached this Mixer. */
  async flush(): Promise<void> {
    await this.#nc.flush();
  }

  #issue(name: string, status: "active" | "revoked" = "active"): PassportEnvelope {
    const key = this.#keys.get(name);
    if (key === undefined) throw new Error(`${name} has not said hello`);
    const env = this.cluster.issue({
      rackPublicKey: publicKeyFromBase64url(key),
      name,
      status,
      machineId: this.#opts.machineId ?? 100,
      ...(this.#opts.ttlMs !== undefined ? { ttlMs: this.#opts.ttlMs } : {}),
    });
    return env;
  }

  #credential(name: string, status: "pending" | "active"): BusCredential | undefined {
    const publicKey = this.#keys.get(name);
    if (this.#opts.credentials === undefined || publicKey === undefined) return undefined;
    return this.#opts.credentials({ name, publicKey, status });
  }

  #onHello(data: Uint8Array, inbox: string, respond: (reply: HelloReply) => void): void {
    const decoded = decodeHelloRequest(data);
    if (!decoded.ok || !verifyHelloSignature(decoded.value)) {
      this.badHellos.push(decoded.ok ? "bad signature" : decoded.error.message);
      return;
    }
    const req = decoded.value;
    this.hellos.push(req);
    this.helloInboxes.push(inbox);
    this.#keys.set(req.name, req.public_key);
    if (this.mode === "silent") return;
    if (this.mode === "name_taken") {
      respond({
        v: 1,
        status: "refused",
        cluster_public_key: this.cluster.publicKeyB64,
        cluster_key_id: this.cluster.keyId,
        heartbeat_interval_ms: this.#opts.heartbeatIntervalMs ?? 200,
        error: { code: "name_taken", message: `${req.name} belongs to another key` },
      });
      return;
    }
    const credential =
      this.mode === "pending" || this.mode === "active" ? this.#credential(req.name, this.mode) : undefined;
    const withCredential = credential !== undefined ? { bus_credential: credential } : {};
    const bootstrap = inbox.startsWith(`${INBOX_PREFIXES.bootstrap}.`);
    const seal = this.#opts.seal ?? true;
    if (bootstrap && (req.reply_key === undefined || seal === false)) {
      // The bootstrap path learns only its status and its credential: no entity id, MachineID or passport.
      respond({
        v: 1,
        status: this.mode,
        cluster_public_key: this.cluster.publicKeyB64,
        cluster_key_id: this.cluster.keyId,
        heartbeat_interval_ms: this.#opts.heartbeatIntervalMs ?? 200,
        ...withCredential,
      });
      return;
    }
    if (bootstrap && req.reply_key !== undefined) {
      // The full reply sealed to the hello's reply key, behind the minimal clear fields (less the credential).
      const replyKey = req.reply_key;
      const sealTo = (full: HelloReply): void => {
        const box = sealReply({
          recipient: replyKey,
          plaintext: encodeMessage(full),
          context: sealContext(req.public_key),
        });
        if (seal === "tamper") {
          const ct = Buffer.from(box.ct, "base64url");
          ct[0] = (ct[0] ?? 0) ^ 1;
          box.ct = ct.toString("base64url");
        }
        respond({
          v: 1,
          status: full.status,
          cluster_public_key: full.cluster_public_key,
          cluster_key_id: full.cluster_key_id,
          heartbeat_interval_ms: full.heartbeat_interval_ms,
          sealed: box,
        });
      };
      this.#fullReply(req, withCredential, sealTo);
      return;
    }
    this.#fullReply(req, withCredential, respond);
  }

  #fullReply(
    req: HelloRequest,
    withCredential: { bus_credential?: BusCredential },
    respond: (reply: HelloReply) => void,
  ): void {
    const base = {
      v: 1 as const,
      entity_id: this.entityId,
      machine_id: this.#opts.machineId ?? 100,
      cluster_public_key: this.cluster.publicKeyB64,
      cluster_key_id: this.cluster.keyId,
      heartbeat_interval_ms: this.#opts.heartbeatIntervalMs ?? 200,
    };
    const mode = this.mode;
    if (mode === "silent" || mode === "name_taken") return; // answered before the full reply
    if (mode !== "active") {
      respond({ ...base, status: mode, ...withCredential });
      return;
    }
    respond({ ...base, status: "active", passport: this.#passportFor(req), ...withCredential });
  }

  /** Confirms a presented passport that is still young, else issues a new one (renewal, recovery). */
  #passportFor(req: HelloRequest): PassportEnvelope {
    if (req.passport !== undefined) {
      try {
        const p = verifyPassport(req.passport, {
          clusterPublicKey: this.cluster.keys.publicKey,
          name: req.name,
        });
        const issued = Date.parse(p.issued_at);
        const life = Date.parse(p.expires_at) - issued;
        if (Date.now() - issued < life * (this.#opts.renewAfter ?? 2 / 3)) return req.passport;
      } catch {
        // An invalid presented passport is simply replaced, as a lenient Mixer would after checking the key.
      }
    }
    return this.#issue(req.name);
  }
}
