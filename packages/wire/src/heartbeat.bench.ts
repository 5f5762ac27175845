// Heartbeat decode + validation throughput: the Registry runs this for every Rack every few seconds.
import { bench, describe } from "vitest";
import { z } from "zod";
import { sampleHeartbeat } from "../test/message-fixtures.js";
import { decodeHeartbeat } from "./decoders.js";
import { encodeMessage } from "./encode-message.js";
import { HeartbeatSchema } from "./heartbeat-schema.js";

const bytes = encodeMessage(sampleHeartbeat());
const parsed: unknown = JSON.parse(Buffer.from(bytes).toString("utf8"));
if (!decodeHeartbeat(bytes).ok) throw new Error("the benchmark heartbeat must be valid");
const compiled = z.compile(HeartbeatSchema);
let sink: unknown;

describe(`heartbeat (${bytes.byteLength} bytes)`, () => {
  bench("decodeHeartbeat (bytes: size, depth, UTF-8, JSON.parse, schema)", () => {
    sink = decodeHeartbeat(bytes);
  });
  bench("JSON.parse only (baseline)", () => {
    sink = JSON.parse(Buffer.from(bytes).toString("utf8"));
  });
  bench("HeartbeatSchema.safeParse only (interpreted zod)", () => {
    sink = HeartbeatSchema.safeParse(parsed);
  });
  bench("z.compile(HeartbeatSchema).validate only (what decodeHeartbeat uses)", () => {
    sink = compiled.validate(parsed);
  });
});

export { sink };
