// The hello subscription: admission control over fluxrig.agent.hello, each admitted hello answered by the handler.
import { encodeMessage, SUBJECTS } from "@fluxrig/wire";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { Counters } from "../runtime/counters.js";
import { ReplyBatcher } from "../runtime/reply-batcher.js";
import type { HelloHandler } from "./hello-handler.js";

/** Every Mixer answers hellos in one queue group, so a second Mixer on the bus never answers twice. */
export const HELLO_QUEUE = "fluxrig-mixer";

export interface HelloSubscription {
  /** Replies sent and reply flushes so far, for the Mixer's counters. */
  replyStats(): ReplyBatcher["stats"];
  /** Takes no more hellos, waits for those in progress and sends their replies. */
  stop(): Promise<void>;
}

/**
 * Takes hellos in the Mixer's queue group. Beyond `maxInflight` hellos being worked on, a hello is answered
 * `unavailable` unread (the Rack retries with its own backoff); a hello with no reply subject is only counted.
 */
export function subscribeHellos(deps: {
  nc: NatsConnection;
  hello: HelloHandler;
  counters: Counters;
  logger: Logger;
  maxInflight: number;
}): HelloSubscription {
  const { hello, counters, logger } = deps;
  const inflight = new Set<Promise<unknown>>();
  const replies = new ReplyBatcher();
  const sub = deps.nc.subscribe(SUBJECTS.hello, { queue: HELLO_QUEUE });
  void (async () => {
    for await (const msg of sub) {
      if (!msg.reply) {
        counters.inc("hello.dropped.no_reply_subject");
        continue;
      }
      if (inflight.size >= deps.maxInflight) {
        replies.respond(msg, encodeMessage(hello.busy(inflight.size)));
        continue;
      }
      const work = hello
        // The bus tells the Mixer nothing about the sender (see hello-source.ts); the bus user joins here once
        // Racks have bus credentials.
        .handle(msg.data, {})
        .then((reply) => replies.respond(msg, encodeMessage(reply)))
        .catch((err: unknown) => logger.error({ err }, "hello reply failed"));
      inflight.add(work);
      void work.finally(() => inflight.delete(work));
    }
  })();
  return {
    replyStats: () => replies.stats,
    stop: async () => {
      sub.unsubscribe();
      await Promise.allSettled([...inflight]);
      replies.flush();
    },
  };
}
