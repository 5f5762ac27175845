// A scripted Rack for Mixer tests: speaks the real wire protocol with its own key, step by step, under test control.
// In the jwt bus mode it follows the bootstrap flow (bootstrap creds, hello, its own connection, hello again; or one
// hello whose full reply comes sealed to it) and checks the Cluster Key's signature on every reply and push, as a real
// Rack does.
import { randomBytes } from "node:crypto";
import {
  CONTROL_SIGNATURE_HEADER,
  ControlSignatureError,
  type Ed25519KeyPair,
  generateKeyPair,
  generateReplyKey,
  nonceAuthenticator,
  type PassportEnvelope,
  publicKeyToBase64url,
  type ReplyKey,
  verifyControlMessage,
} from "@fluxrig/passport";
import {
  type BusCredential,
  decodeHelloReply,
  decodePassportPush,
  decodeScenarioPush,
  encodeMessage,
  type Heartbeat,
  type HelloReply,
  type HelloRequest,
  heartbeatSubject,
  INBOX_PREFIXES,
  openSealedHelloReply,
  type PassportPush,
  rackInboxPrefix,
  rackPassportSubject,
  rackScenarioSubject,
  type ScenarioPush,
  SUBJECTS,
  signHello,
} from "@fluxrig/wire";
import {
  connect,
  credsAuthenticator,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type NodeConnectionOptions,
  type Subscription,
} from "@nats-io/transport-node";
import { headerValue, LightNats } from "./light-nats.js";

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
  /** An enrollment token to present (`enrollment_token`, inside the signed bytes). */
  enrollmentToken?: string;
  /** Ask for a sealed full reply (`reply_key`, a fresh X25519 key kept for the reply; see {@link ScriptedRack.hello}). */
  sealed?: boolean;
}

/**
 * How a ScriptedRack treats the Cluster Key signature (`Fluxrig-Sig`) of hello replies and pushes: `require` refuses
 * what does not verify against the pinned key (a reply throws, a push is dropped), as a real Rack does; `record`
 * keeps everything and only counts, for tests of the open bus that look at what arrives.
 */
export type ControlSignatureMode = "require" | "record";

/** A control message that did not verify: its subject and why. */
export interface RefusedControlMessage {
  subject: string;
  reason: ControlSignatureError["reason"];
}

/** Options of {@link ScriptedRack.enrollJwt}. */
export interface JwtEnrollOptions {
  /** nats-server URL(s). */
  servers: string | string[];
  name: string;
  /** The bootstrap `.creds` file's content (`h.bootstrapCreds` names the file). */
  bootstrapCreds: Uint8Array | string;
  keys?: Ed25519KeyPair;
  /** The Cluster public key pin (base64url); absent: pinned from the first reply, as on a first enrollment. */
  clusterPublicKey?: string;
  /** Hello overrides for both hellos (a test may forge one). */
  hello?: HelloOverrides;
  /** Extra nats.js options for the Rack's own connection. */
  connection?: NodeConnectionOptions;
  /**
   * One hello (as `apps/rack` does): the bootstrap hello carries `reply_key`, the full reply comes sealed to it, and
   * the Rack connects as itself without a second hello. Default false: the two-hello flow of a Rack older than the
   * sealed reply.
   */
  sealed?: boolean;
}

export class ScriptedRack {
  readonly keys: Ed25519KeyPair;
  readonly publicKey: string;
  readonly passportPushes: PassportPush[] = [];
  readonly scenarioPushes: ScenarioPush[] = [];
  /** Replies and pushes whose signature did not verify (in `require` mode they were refused). */
  readonly refusedControlMessages: RefusedControlMessage[] = [];
  /** Subscriptions that ended in an error, e.g. a permission the bus credential does not give. */
  readonly subscriptionErrors: Error[] = [];
  /** How many replies and pushes verified against the pin. */
  verifiedControlMessages = 0;
  lastReply: HelloReply | null = null;
  passport: PassportEnvelope | undefined;
  entityId: string | undefined;
  /** The newest bus credential from a reply or a push (jwt mode); read at each reconnect of {@link enrollJwt}'s connection. */
  busCredential: BusCredential | undefined;
  /** The Cluster public key this Rack trusts: given, or pinned from its first verified reply. */
  clusterPublicKey: string | undefined;
  signatures: ControlSignatureMode;
  #nc: NatsConnection;
  #ownsConnection = false;
  #seq = 0;
  readonly #session = randomBytes(12).toString("base64url");
  readonly #subs: Subscription[] = [];

  constructor(
    nc: NatsConnection,
    readonly name: string,
    keys?: Ed25519KeyPair,
    opts: { signatures?: ControlSignatureMode; clusterPublicKey?: string } = {},
  ) {
    this.#nc = nc;
    this.keys = keys ?? generateKeyPair();
    this.publicKey = publicKeyToBase64url(this.keys.publicKey);
    this.signatures = opts.signatures ?? "record";
    this.clusterPublicKey = opts.clusterPublicKey;
  }

  /** The connection this Rack speaks on (its own after {@link enrollJwt}). */
  get nc(): NatsConnection {
    return this.#nc;
  }

  /**
   * jwt bus mode, the real bootstrap flow: connects with the bootstrap creds (inbox `_INBOX._bootstrap`), says hello
   * and takes the JWT from the minimal reply, closes that connection, connects as itself (`nonceAuthenticator` over
   * its own key, inbox `_INBOX.<name>`), subscribes to its pushes and says hello again. Every reply and push must
   * carry the Cluster Key's signature (`require`). Close it with {@link close}, which closes its connection.
   *
   * @example
   * const rack = await ScriptedRack.enrollJwt({ servers: h.nats.url, name: "rack-1",
   *   bootstrapCreds: await readFile(h.bootstrapCreds) });
   * expect(rack.lastReply?.status).toBe("pending");
   */
  static async enrollJwt(opts: JwtEnrollOptions): Promise<ScriptedRack> {
    const creds =
      typeof opts.bootstrapCreds === "string"
        ? new TextEncoder().encode(opts.bootstrapCreds)
        : opts.bootstrapCreds;
    const bootstrap = await connect({
      servers: opts.servers,
      name: `${opts.name}-bootstrap`,
      authenticator: credsAuthenticator(creds),
      inboxPrefix: INBOX_PREFIXES.bootstrap,
      maxReconnectAttempts: 0,
    });
    const rack = new ScriptedRack(bootstrap, opts.name, opts.keys, {
      signatures: "require",
      ...(opts.clusterPublicKey === undefined ? {} : { clusterPublicKey: opts.clusterPublicKey }),
    });
    try {
      const first = await rack.hello({ ...opts.hello, ...(opts.sealed ? { sealed: true } : {}) });
      if (first.bus_credential === undefined) {
        throw new Error(`bootstrap hello answered ${first.status} without a bus credential`);
      }
    } finally {
      await bootstrap.close();
    }
    rack.#nc = await rack.#connectAsItself(opts.servers, opts.connection);
    rack.#ownsConnection = true;
    // A pending Rack may not subscribe to its scenario push; an adopted one may (its JWT says which).
    rack.listen({ scenario: rack.lastReply?.status === "active" });
    await rack.nc.flush();
    if (!opts.sealed) await rack.hello(opts.hello);
    return rack;
  }

  #connectAsItself(servers: string | string[], extra: NodeConnectionOptions = {}): Promise<NatsConnection> {
    return connect({
      servers,
      name: this.name,
      authenticator: nonceAuthenticator({
        privateKey: this.keys.privateKey,
        jwt: () => this.busCredential?.jwt ?? "",
      }),
      inboxPrefix: rackInboxPrefix(this.name),
      reconnectTimeWait: 100,
      maxReconnectAttempts: -1,
      ...extra,
    });
  }

  /**
   * Checks a control message against the pin (pinning `firstKey` when there is none yet). True when it may be used:
   * verified, or `record` mode.
   */
  #checkSignature(msg: Msg, firstKey?: string): boolean {
    return this.#checkBytes(msg.subject, msg.data, headerOf(msg.headers), firstKey);
  }

  #checkBytes(subject: string, bytes: Uint8Array, header: string | undefined, firstKey?: string): boolean {
    const publicKey = this.clusterPublicKey ?? firstKey;
    try {
      if (publicKey === undefined) {
        throw new ControlSignatureError({ reason: "wrong_key", message: "no Cluster Key pinned yet" });
      }
      verifyControlMessage({ publicKey, bytes, header });
      this.clusterPublicKey ??= publicKey;
      this.verifiedControlMessages += 1;
      return true;
    } catch (error) {
      if (!(error instanceof ControlSignatureError)) throw error;
      this.refusedControlMessages.push({ subject, reason: error.reason });
      if (this.signatures === "require") return false;
      return true;
    }
  }

  /**
   * Subscribes to this Rack's push subjects, as a real Rack does before its first hello. `scenario: false` skips the
   * scenario push, which a pending Rack's bus credential does not allow (see {@link listenScenario}).
   */
  listen(opts: { scenario?: boolean } = {}): this {
    const p = this.nc.subscribe(rackPassportSubject(this.name));
    this.#subs.push(p);
    this.#drain(p, (m) => {
      const d = decodePassportPush(m.data);
      if (d.ok) {
        this.passportPushes.push(d.value);
        if (d.value.passport) this.passport = d.value.passport;
        if (d.value.bus_credential) this.busCredential = d.value.bus_credential;
      }
    });
    if (opts.scenario !== false) this.listenScenario();
    return this;
  }

  /** Subscribes to this Rack's scenario push (an adopted Rack's credential allows it). */
  listenScenario(): this {
    const s = this.nc.subscribe(rackScenarioSubject(this.name));
    this.#subs.push(s);
    this.#drain(s, (m) => {
      const d = decodeScenarioPush(m.data);
      if (d.ok) this.scenarioPushes.push(d.value);
    });
    return this;
  }

  /** Feeds a subscription's signed messages to `take`; a subscription the server refused ends in `subscriptionErrors`. */
  #drain(sub: Subscription, take: (m: Msg) => void): void {
    void (async () => {
      try {
        for await (const m of sub) if (this.#checkSignature(m)) take(m);
      } catch (error) {
        this.subscriptionErrors.push(error as Error);
      }
    })();
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
      ...(over.enrollmentToken !== undefined ? { enrollment_token: over.enrollmentToken } : {}),
    };
    if (over.sealed) {
      this.replyKey = generateReplyKey();
      unsigned.reply_key = this.replyKey.publicKey;
    }
    const signed = signHello(unsigned, over.signWith ?? this.keys.privateKey);
    return over.mutate ? over.mutate(signed) : signed;
  }

  /**
   * The reply key of the last hello built with `sealed` (a sealed reply is opened with it); a hello built without
   * `sealed` keeps it, so a test can send a reply meant for one hello to another.
   */
  replyKey: ReplyKey | undefined;

  /**
   * Sends a hello and returns the decoded reply (throws when the reply does not decode). With `sealed`, the hello
   * carries a reply key and a sealed reply is opened (the full reply is returned; {@link lastClearReply} keeps what
   * travelled in clear).
   */
  async hello(over: HelloOverrides = {}): Promise<HelloReply> {
    const withPassport = "passport" in over ? over : { ...over, passport: this.passport };
    return this.sendRaw(encodeMessage(this.buildHello(withPassport)));
  }

  /** The clear part of the last reply, when it was sealed (the rest is in {@link lastReply}). */
  lastClearReply: HelloReply | null = null;

  /**
   * Sends hello bytes and returns the decoded reply (throws when it does not decode, or, in `require` mode, when its
   * signature does not verify against the pin; before any pin, against the key the reply itself names).
   */
  async sendRaw(data: Uint8Array): Promise<HelloReply> {
    const msg = await this.nc.request(SUBJECTS.hello, data, { timeout: 10_000 });
    const decoded = decodeHelloReply(msg.data);
    if (!decoded.ok) throw new Error(`hello reply did not decode: ${decoded.error.message}`);
    if (!this.#checkSignature(msg, decoded.value.cluster_public_key)) {
      const refused = this.refusedControlMessages.at(-1);
      throw new ControlSignatureError({
        reason: refused?.reason ?? "invalid",
        message: `hello reply refused: its ${CONTROL_SIGNATURE_HEADER} does not verify (${refused?.reason})`,
      });
    }
    return this.#took(decoded.value);
  }

  /** Opens a sealed reply (throws WireDecodeError when it does not open with this Rack's reply key) and keeps it. */
  #took(clear: HelloReply): HelloReply {
    let reply = clear;
    if (clear.sealed !== undefined) {
      if (this.replyKey === undefined) throw new Error("a sealed hello reply, and no reply key to open it");
      reply = openSealedHelloReply(clear, this.replyKey, this.publicKey);
    }
    this.lastClearReply = clear.sealed === undefined ? null : clear;
    if (reply.bus_credential) this.busCredential = reply.bus_credential;
    this.lastReply = reply;
    if (reply.entity_id) this.entityId = reply.entity_id;
    if (reply.passport) this.passport = reply.passport;
    return reply;
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

  /** For load generators (jwt): this Rack's own {@link LightNats} connection, once {@link connectLight} opened it. */
  light: LightNats | undefined;

  /**
   * jwt, for load generators: (re)connects as itself over a {@link LightNats} connection (its key signs the nonce,
   * its newest `busCredential` is the JWT, `_INBOX.<name>` its inbox prefix). Rejects with the server's reason.
   */
  async connectLight(server: { host: string; port: number }): Promise<LightNats> {
    const previous = this.light;
    this.light = undefined;
    if (previous !== undefined && !previous.closed) await previous.close();
    this.light = await LightNats.connect({
      host: server.host,
      port: server.port,
      name: this.name,
      auth: nonceAuthenticator({
        privateKey: this.keys.privateKey,
        jwt: () => this.busCredential?.jwt ?? "",
      }),
      inboxPrefix: rackInboxPrefix(this.name),
    });
    return this.light;
  }

  /**
   * A hello over the {@link light} connection: decoded, its signature checked as {@link sendRaw} does (throws
   * ControlSignatureError in `require` mode), its passport and credential kept.
   */
  async helloLight(data: Uint8Array, timeoutMs = 10_000): Promise<HelloReply> {
    const nc = this.light;
    if (nc === undefined || nc.closed) throw new Error(`${this.name} has no open light connection`);
    const msg = await nc.request(SUBJECTS.hello, data, { timeoutMs });
    const decoded = decodeHelloReply(msg.data);
    if (!decoded.ok) throw new Error(`hello reply did not decode: ${decoded.error.message}`);
    const header = headerValue(msg.headers, CONTROL_SIGNATURE_HEADER);
    if (!this.#checkBytes(msg.subject, msg.data, header, decoded.value.cluster_public_key)) {
      const refused = this.refusedControlMessages.at(-1);
      throw new ControlSignatureError({
        reason: refused?.reason ?? "invalid",
        message: `hello reply refused: its ${CONTROL_SIGNATURE_HEADER} does not verify (${refused?.reason})`,
      });
    }
    return this.#took(decoded.value);
  }

  /** Unsubscribes; after {@link enrollJwt} also closes its own connection (returned promise). */
  close(): Promise<void> {
    for (const s of this.#subs) s.unsubscribe();
    const light = this.light?.close();
    return Promise.all([light, this.#ownsConnection ? this.#nc.close() : undefined]).then(() => undefined);
  }
}

function headerOf(headers: MsgHdrs | undefined): string | undefined {
  return headers?.has(CONTROL_SIGNATURE_HEADER) ? headers.get(CONTROL_SIGNATURE_HEADER) : undefined;
}
