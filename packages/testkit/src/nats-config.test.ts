// The generated nats-server config: ports, monitoring, JetStream store, payload size and the test's extra text.
import { describe, expect, it } from "vitest";
import { TestkitError } from "./errors.js";
import { natsConfigText } from "./nats-config.js";

const base = { serverName: "t1", host: "127.0.0.1", port: 4333, jetstream: true, storeDir: "/tmp/a b/store" };

describe("natsConfigText", () => {
  it("writes host, port and a JetStream store with bounded limits", () => {
    const text = natsConfigText(base);
    expect(text).toContain('server_name: "t1"');
    expect(text).toContain('host: "127.0.0.1"');
    expect(text).toContain("port: 4333");
    expect(text).toContain('store_dir: "/tmp/a b/store"');
    expect(text).toMatch(/max_memory_store: \d+/);
    expect(text).not.toContain("http:");
    expect(text.endsWith("\n")).toBe(true);
  });

  it("leaves JetStream out when off, and adds monitoring, payload, debug and extra text", () => {
    const text = natsConfigText({
      ...base,
      jetstream: false,
      httpPort: 8222,
      maxPayload: "8MB",
      debug: true,
      extraConfig: "  write_deadline: 5s\n",
    });
    expect(text).not.toContain("jetstream");
    expect(text).toContain('http: "127.0.0.1:8222"');
    expect(text).toContain("max_payload: 8MB");
    expect(text).toContain("debug: true");
    expect(text.trimEnd().endsWith("write_deadline: 5s")).toBe(true);
  });

  it("refuses bad ports and payload sizes with a clear error", () => {
    expect(() => natsConfigText({ ...base, port: 0 })).toThrow(TestkitError);
    expect(() => natsConfigText({ ...base, httpPort: 70_000 })).toThrow(/httpPort must be an integer/);
    expect(() => natsConfigText({ ...base, maxPayload: "lots" })).toThrow(/not a size/);
    expect(() => natsConfigText({ ...base, maxPayload: -1 })).toThrow(/positive integer/);
    expect(natsConfigText({ ...base, maxPayload: 1024 })).toContain("max_payload: 1024");
  });

  it("writes a cluster member: sync_interval in the JetStream block, the route listener, its seed routes, no route pool", () => {
    const text = natsConfigText({
      ...base,
      syncInterval: "always",
      cluster: {
        name: "c1",
        port: 6222,
        routes: ["nats-route://127.0.0.1:6223", "nats-route://127.0.0.1:6224"],
      },
    });
    expect(text).toMatch(/jetstream \{[^}]*sync_interval: "always"[^}]*\}/);
    expect(text).toContain('cluster {\n  name: "c1"\n  listen: "127.0.0.1:6222"');
    expect(text).toContain('routes: ["nats-route://127.0.0.1:6223", "nats-route://127.0.0.1:6224"]');
    expect(text).toMatch(/cluster \{[^}]*\n {2}pool_size: -1\n\}/);
    expect(() => natsConfigText({ ...base, cluster: { name: "c", port: 0, routes: [] } })).toThrow(
      /cluster port/,
    );
    expect(natsConfigText(base)).not.toContain("sync_interval");
  });
});
