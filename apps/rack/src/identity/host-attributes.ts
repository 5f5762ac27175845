// What a Rack reports about its host in hellos: hostname, os, arch, the MACs and IP addresses of its real interfaces.
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

const MAX_ADDRESSES = 16;

/**
 * The IP addresses of non-internal interfaces, deduplicated and sorted (IPv4 first): what the Mixer shows as where a
 * hello came from, since the bus does not tell it. Link-local ones (169.254/16, fe80::/10) and IPv6 zone ids are
 * left out: they mean nothing off the Rack's own link.
 */
export function ipAddresses(interfaces = networkInterfaces()): string[] {
  const v4 = new Set<string>();
  const v6 = new Set<string>();
  for (const addresses of Object.values(interfaces)) {
    for (const address of addresses ?? []) {
      if (address.internal) continue;
      if (address.family === "IPv4" && !address.address.startsWith("169.254.")) v4.add(address.address);
      if (
        address.family === "IPv6" &&
        !/^fe[89ab]/i.test(address.address) &&
        !address.address.includes("%")
      ) {
        v6.add(address.address.toLowerCase());
      }
    }
  }
  return [...[...v4].sort(), ...[...v6].sort()].slice(0, MAX_ADDRESSES);
}

/**
 * The hello's `attributes`.
 * @example hostAttributes() // { hostname: "edge-1", os: "linux 6.1.0", arch: "arm64", mac: [...], addresses: ["10.0.0.5"] }
 */
export function hostAttributes(): RackAttributes {
  const macs = macAddresses();
  const attributes: RackAttributes = {
    hostname: hostname().slice(0, 253) || "unknown",
    os: `${platform()} ${release()}`.slice(0, 64),
    arch: arch(),
  };
  if (macs.length > 0) attributes.mac = macs;
  const addresses = ipAddresses();
  if (addresses.length > 0) attributes.addresses = addresses;
  return attributes;
}
