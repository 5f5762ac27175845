// The nats-server config for JWT mode with the NATS-based full resolver, as `fluxrig-mixer nats-config` will print it.

/** What the config needs; the JWTs come from trust-chain.ts. */
export interface ResolverConfigInput {
  operatorJwt: string;
  systemAccount: string;
  /** Account nkey to JWT: the system and fleet accounts, so a fresh server works before any push. */
  preload: Readonly<Record<string, string>>;
  /** Where the server keeps account JWTs it was pushed; must survive restarts (a volume in docker-compose). */
  resolverDir: string;
  /** How often servers of a cluster compare their stored JWTs (default "2m"). */
  syncInterval?: string;
}

const NKEY = /^[A-Z2-7]{56}$/;
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * The config block to add to nats-server's (alongside `port`, `jetstream`, ...). Every choice is explained in the
 * comments it writes, so an operator reading the file sees why.
 *
 * @example
 * writeFile("nats-server.conf", natsResolverConfig({ operatorJwt, systemAccount, preload, resolverDir }));
 */
export function natsResolverConfig(input: ResolverConfigInput): string {
  check(NKEY.test(input.systemAccount), "systemAccount is not an account nkey");
  check(JWT.test(input.operatorJwt), "operatorJwt is not a JWT");
  check(input.systemAccount in input.preload, "the system account must be preloaded");
  for (const [account, jwt] of Object.entries(input.preload)) {
    check(NKEY.test(account) && JWT.test(jwt), `preload ${account} is not an account nkey and a JWT`);
  }
  const preload = Object.entries(input.preload).map(([account, jwt]) => `  ${account}: ${jwt}`);
  return [
    "# fluxrig bus credentials (SPEC §11), written by fluxrig-mixer. Keys stay in the Mixer's data dir.",
    "# The operator JWT is inlined: the server trusts accounts signed by this operator and nothing else.",
    `operator: ${input.operatorJwt}`,
    "# The system account: only the Mixer holds a user there; it pushes account updates and revocations through it.",
    `system_account: ${input.systemAccount}`,
    "resolver: {",
    "  # full: the server stores every account JWT pushed on $SYS.REQ.CLAIMS.UPDATE and serves them to the cluster.",
    "  type: full",
    "  # Kept across restarts, so a revocation pushed once stays in force.",
    `  dir: ${JSON.stringify(input.resolverDir)}`,
    "  # No deletes: an account is never removed by a message, only by an operator with the keys.",
    "  allow_delete: false",
    "  # How often servers of a cluster reconcile their JWTs; a push reaches all of them at once anyway.",
    `  interval: ${JSON.stringify(input.syncInterval ?? "2m")}`,
    "  # Lookups of an account not in the local store (other servers) give up after this.",
    '  timeout: "1.9s"',
    "}",
    "# Known at start, before any push. The full resolver keeps whichever JWT was issued later, stored or preloaded:",
    "# regenerate this file with the current revocations, and the Mixer pushes its current fleet JWT on every connect.",
    "resolver_preload: {",
    ...preload,
    "}",
    "",
  ].join("\n");
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new RangeError(`nats resolver config: ${message}`);
}
