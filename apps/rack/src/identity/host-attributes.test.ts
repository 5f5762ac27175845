// What a Rack reports about its host: MACs and IP addresses of real interfaces only.
import type { NetworkInterfaceInfo } from "node:os";
import { RackAttributesSchema } from "@fluxrig/wire/internal";
import { describe, expect, it } from "vitest";
import { hostAttributes, ipAddresses } from "./host-attributes.js";

function nic(address: string, family: "IPv4" | "IPv6", internal = false): NetworkInterfaceInfo {
  const common = { address, netmask: "", mac: "02:00:00:00:00:01", internal, cidr: null };
  return family === "IPv4" ? { ...common, family } : { ...common, family, scopeid: 0 };
}

describe("ipAddresses", () => {
  it("keeps the addresses of real interfaces, IPv4 first, without loopback, link-local or zone ids", () => {
    const interfaces = {
      lo: [nic("127.0.0.1", "IPv4", true), nic("::1", "IPv6", true)],
      eth0: [nic("10.0.0.5", "IPv4"), nic("FD00::5", "IPv6"), nic("fe80::1", "IPv6")],
      eth1: [nic("169.254.3.4", "IPv4"), nic("192.168.1.9", "IPv4"), nic("10.0.0.5", "IPv4")],
      tun0: [nic("fd00::7%tun0", "IPv6")],
    };
    expect(ipAddresses(interfaces)).toEqual(["10.0.0.5", "192.168.1.9", "fd00::5"]);
  });

  it("reports at most 16, and what it reports always passes the hello's schema", () => {
    const many = { eth0: Array.from({ length: 20 }, (_, i) => nic(`10.0.0.${i + 1}`, "IPv4")) };
    expect(ipAddresses(many)).toHaveLength(16);
    expect(RackAttributesSchema.safeParse(hostAttributes()).success).toBe(true);
  });
});
