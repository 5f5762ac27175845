// What a Rack reports about its host in hellos: hostname, os, arch and the MACs of its real interfaces.
import { arch, hostname, networkInterfaces, platform, release } from "node:os";
import type { RackAttributes } from "@fluxrig/wire";

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5,7}$/;
const MAX_MACS = 32;

/**
 * The MACs of non-internal interfaces, lowercased, deduplicated and sorted; all-zero addresses
 * (tunnels, some containers) say nothing about the hardware and are left out.
 */
export function macAddresses(interfaces = networkInterfaces()): string[] {
  const macs = new Set<string>();
  for (const addresses of Object.values(interfaces)) {
    for (const address of addresses ?? []) {
      const mac = address.mac.toLowerCase();
      if (address.internal || !MAC.test(mac) || /^[0:]+$/.test(mac)) continue;
      macs.add(mac);
    }
  }
  return [...macs].sort().slice(0, MAX_MACS);
}

/**
 * The hello's `attributes`.
 * @example hostAttributes() // { hostname: "edge-1", os: "linux 6.1.0", arch: "arm64", mac: ["02:42:ac:11:00:02"] }
 */
export function hostAttributes(): RackAttributes {
  const macs = macAddresses();
  const attributes: RackAttributes = {
    hostname: hostname().slice(0, 253) || "unknown",
    os: `${platform()} ${release()}`.slice(0, 64),
    arch: arch(),
  };
  if (macs.length > 0) attributes.mac = macs;
  return attributes;
}
