// `[nats] url` as the NATS client takes it: one URL, or several (a cluster's nodes) separated by commas.

/**
 * The servers a `[nats] url` names, in order. nats.js reads a single string as ONE server: given the whole list it
 * connected to the last node only, and failed at start when that node was down.
 *
 * @example
 * natsServers("nats://a:4222, nats://b:4222"); // ["nats://a:4222", "nats://b:4222"]
 */
export function natsServers(url: string): string[] {
  return url
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}
