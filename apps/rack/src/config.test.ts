// fluxrig-rack.toml: defaults, environment overrides, and errors that name the file, key and expectation.
import { ConfigValueError } from "@fluxrig/config";
import { describe, expect, test } from "vitest";
import { TestCluster } from "../test/support/test-cluster.js";
import { loadRackConfig, telemetryHeaders } from "./config.js";

const load = (text: string, env: Record<string, string> = {}) =>
  loadRackConfig({ file: "rack.toml", text, env });

describe("rack config", () => {
  test("only the name is required; everything else has a default", async () => {
    const config = await load('[rack]\nname = "rack-nyc-01"\n');
    expect(config).toEqual({
      rack: { name: "rack-nyc-01", state_dir: "./state", log_level: "info" },
      nats: { url: "nats://127.0.0.1:4222", reconnect_spread: 5_000 },
      cluster: {},
      telemetry: { export_interval: 15_000, headers: {} },
      heartbeat: { interval: 10_000 },
    });
  });

  test("FLUXRIG_<SECTION>_<KEY> overrides the file", async () => {
    const pub = new TestCluster().publicKeyB64;
    const config = await load('[rack]\nname = "rack-a"\n', {
      FLUXRIG_RACK_NAME: "rack-b",
      FLUXRIG_CLUSTER_PUBLIC_KEY: pub,
      FLUXRIG_TELEMETRY_OTLP_ENDPOINT: "http://127.0.0.1:8090/v1/metrics",
      FLUXRIG_TELEMETRY_HEADERS: "X-Tenant=a, X-Zone=b",
      FLUXRIG_TELEMETRY_AUTH_TOKEN: "s3cret",
      FLUXRIG_HEARTBEAT_INTERVAL: "2s",
    });
    expect(config.rack.name).toBe("rack-b");
    expect(config.cluster.public_key).toBe(pub);
    expect(config.heartbeat.interval).toBe(2_000);
    expect(telemetryHeaders(config.telemetry)).toEqual({
      "X-Tenant": "a",
      "X-Zone": "b",
      Authorization: "Bearer s3cret",
    });
  });

  test("headers may also be a TOML table", async () => {
    const config = await load('[rack]\nname = "r"\n[telemetry]\nheaders = { "X-Api-Key" = "k" }\n');
    expect(config.telemetry.headers).toEqual({ "X-Api-Key": "k" });
  });

  test.each([
    ["", "rack.name", /required/],
    ['[rack]\nname = "Rack_1"', "rack.name", /DNS label/],
    ['[rack]\nname = "r"\n[cluster]\npublic_key = "abc"', "cluster.public_key", /Ed25519/],
    ['[rack]\nname = "r"\n[telemetry]\notlp_endpoint = "ftp://x"', "telemetry.otlp_endpoint", /http/],
    ['[rack]\nname = "r"\n[heartbeat]\ninterval = 5', "heartbeat.interval", /duration/],
    ['[rack]\nname = "r"\nstate = "x"', "rack.state", /unknown key/],
  ])("%j is refused naming %s", async (text, key, message) => {
    const error = await load(text).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigValueError);
    expect(error).toMatchObject({ file: "rack.toml", key });
    expect((error as Error).message).toMatch(message);
  });
});
