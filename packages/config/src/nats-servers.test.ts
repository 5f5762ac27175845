import { describe, expect, test } from "vitest";
import { natsServers } from "./nats-servers.js";

describe("natsServers", () => {
  test("one URL, or a cluster's nodes separated by commas (spaces and a trailing comma allowed)", () => {
    expect(natsServers("nats://127.0.0.1:4222")).toEqual(["nats://127.0.0.1:4222"]);
    expect(natsServers("nats://a:4222, nats://b:4222 ,nats://c:4222,")).toEqual([
      "nats://a:4222",
      "nats://b:4222",
      "nats://c:4222",
    ]);
  });
});
