// A scripted Rack for Mixer tests: speaks the real wire protocol with its own key, step by step, under test control.
import { randomBytes } from "node:crypto";
import {
  type Ed25519KeyPair,
  generateKeyPair,
  type PassportEnvelope,
  publicKeyToBase64url,
} from "@fluxrig/passport";
import {
  decodeHelloReply,
  decodePassportPush,
  decodeScenarioPush,
  encodeMessage,
  type Heartbeat,
  type HelloReply,
  type HelloRequest,
  heartbeatSubject,
  type PassportPush,
  rackPassportSubject,
  rackScenarioSubject,
  type ScenarioPush,
  SUBJECTS,
  signHello,
} from "@fluxrig/wire";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";

export interface HelloOverrides {
  ts?: string;
  nonce?: string;
  passport?: PassportEnvelope | undefined;
  name?: string;
  /** What the Rack reports about its host (default: `<name>-host`, linux, x64, one MAC). */
  attributes?: HelloRequest["attributes"];
  /** Sign with this key instead of the Rack's own (a forged hello). */
  signWith?: Ed25519KeyPair["privateKey"];
  mutate?: (req: HelloRequest) => HelloRequest;
}

export class ScriptedRack {
  readonly keys: Ed25519KeyPair;
  readonly publicKey: string;
  readonly passportPushes: PassportPush[] = [];
  readonly scenarioPushes: ScenarioPush[] = [];
  lastReply: HelloReply | null = null;
  passport: PassportEnvelope | undefined;
  entityId: string | undefined;
  #seq = 0;
  readonly #session = randomBytes(12).toString("base64url");
  readonly #subs: Subscription[] = [];

  constructor(
    readonly nc: NatsConnection,
    readonly name: string,
    keys?: Ed25519KeyPair,
  ) {
    this.keys = keys ?? generateKeyPair();
    this.publicKey = publicKeyToBase64url(this.keys.publicKey);
  }

  /** Subscribes to this Rack's push subjects, as a real Rack does before its first hello. */
  listen(): this {
    const p = this.nc.subscribe(rackPassportSubject(this.name));
    const s = this.nc.subscribe(rackScenarioSubject(this.name));
    this.#subs.push(p, s);
    void (async () => {
      for await (const m of p) {
        const d = decodePassportPush(m.data);
        if (d.ok) {
          this.passportPushes.push(d.value);
          if (d.value.passport) this.passport = d.value.passport;
        }
      }
    })();
    void (async () => {
      for await (const m of s) {
        const d = decodeScenarioPush(m.data);
        if (d.ok) this.scenarioPushes.push(d.value);
      }
    })();
    return this;
  }

  buildHello(over: HelloOverrides = {}): HelloRequest {
    const unsigned: Omit<HelloRequest, "sig"> = {
      v: 1,
      name: over.name ?? this.name,
      public_key: this.publicKey,
      version: "0.0.0-test",
      attributes: over.attributes ?? {
        hostname: `${this.name}-host`,
        os: "linux",
        arch: "x64",
        mac: ["02:00:00:00:00:01"],
      },
      nonce: over.nonce ?? randomBytes(16).toString("base64url"),
      ts: over.ts ?? new Date().toISOString(),
      ...(over.passport !== undefined ? { passport: over.passport } : {}),
    };
    const signed = signHello(unsigned, over.signWith ?? this.keys.privateKey);
    return over.mutate ? over.mutate(signed) : signed;
  }

  /** Sends a hello and returns the decoded reply (throws when the reply does not decode). */
  async hello(over: HelloOverrides = {}): Promise<HelloReply> {
    const withPassport = "passport" in over ? over : { ...over, passport: this.passport };
    return this.sendRaw(encodeMessage(this.buildHello(withPassport)));
  }

  async sendRaw(data: Uint8Array): Promise<HelloReply> {
    const msg = await this.nc.request(SUBJECTS.hello, data, { timeout: 10_000 });
    const decoded = decodeHelloReply(msg.data);
    if (!decoded.ok) throw new Error(`hello reply did not decode: ${decoded.error.message}`);
    this.lastReply = decoded.value;
    if (decoded.value.entity_id) this.entityId = decoded.value.entity_id;
    if (decoded.value.passport) this.passport = decoded.value.passport;
    return decoded.value;
  }

  heartbeatMessage(over: Partial<Heartbeat> = {}): Heartbeat {
    this.#seq += 1;
    return {
      v: 1,
      entity_id: this.entityId ?? "0",
      name: this.name,
      status: "active",
      seq: this.#seq,
      session: this.#session,
      version: "0.0.0-test",
      stats: {
        cpu: { process_pct: 1.5, host_pct: 10 },
        mem: { rss_bytes: 50_000_000, heap_used_bytes: 20_000_000 },
        event_loop_lag_ms: 0.5,
        active_handles: 4,
        uptime_s: 12,
      },
      ts: new Date().toISOString(),
      ...over,
    };
  }

  heartbeat(over: Partial<Heartbeat> = {}): void {
    this.nc.publish(heartbeatSubject(this.name), encodeMessage(this.heartbeatMessage(over)));
  }

  close(): void {
    for (const s of this.#subs) s.unsubscribe();
  }
}
