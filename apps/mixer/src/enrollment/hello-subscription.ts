// The hello subscription: admission control over fluxrig.agent.hello, each admitted hello answered by the handler.
import { encodeMessage, type HelloReply, SUBJECTS } from "@fluxrig/wire";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { ControlSigner } from "../bus-auth/control-signing.js";
import type { Counters } from "../runtime/counters.js";
import { ReplyBatcher, type Respondable } from "../runtime/reply-batcher.js";
import type { HelloHandler } from "./hello-handler.js";

/** Every Mixer answers hellos in one queue group, so a second Mixer on the bus never answers twice. */
export const HELLO_QUEUE = "fluxrig-mixer";

export interface HelloSubscription {
  /** Replies sent and reply flushes so far, for the Mixer's counters. */
  replyStats(): ReplyBatcher["stats"];
  /** Takes no more hellos, waits for those in progress and sends their replies. */
  stop(): Promise<void>;
}

/** Every reply inbox starts here (nats.js `inboxPrefix` extends it: a Rack's own, the Mixer's, the bootstrap one). */
const INBOX_ROOT = "_INBOX.";

/**
 * Takes hellos in the Mixer's queue group. Beyond `maxInflight` hellos being worked on, a hello is answered
 * `unavailable` unread (the Rack retries with its own backoff); a hello with no reply subject, or one whose reply
 * subject is not an inbox, is only counted: the Mixer may publish pushes, and a hello must not make it publish a
 * signed reply on a push subject. Every reply carries the Cluster Key signature over its exact bytes.
 */
export function subscribeHellos(deps: {
  nc: NatsConnection;
  hello: HelloHandler;
  counters: Counters;
  logger: Logger;
  maxInflight: number;
  sign: ControlSigner;
}): HelloSubscription {
  const { hello, counters, logger, sign } = deps;
  const inflight = new Set<Promise<unknown>>();
  const replies = new ReplyBatcher();
  const send = (to: Respondable, reply: HelloReply) => {
    const bytes = encodeMessage(reply);
    replies.respond(to, bytes, sign(bytes));
  };
  const sub = deps.nc.subscribe(SUBJECTS.hello, { queue: HELLO_QUEUE });
  void (async () => {
    for await (const msg of sub) {
      if (!msg.reply) {
        counters.inc("hello.dropped.no_reply_subject");
        continue;
      }
      if (!msg.reply.startsWith(INBOX_ROOT)) {
        counters.inc("hello.dropped.bad_reply_subject");
        continue;
      }
      if (inflight.size >= deps.maxInflight) {
        send(msg, hello.busy(inflight.size));
        continue;
      }
      const work = hello
        // The bus tells the Mixer nothing about the sender but the reply subject (see hello-source.ts).
        .handle(msg.data, { replySubject: msg.reply })
        .then((reply) => send(msg, reply))
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
