// A hello's source as operators read it: the addresses the Rack reported, labelled; never the reply inbox.
import { describe, expect, it } from "vitest";
import { helloEvidence } from "./hello-source.js";

const host = { hostname: "edge-1", os: "linux", arch: "x64", mac: ["02:00:00:00:00:01"] };

describe("helloEvidence", () => {
  it("shows the reported addresses as the Rack's claim and keeps them out of the stored attributes", () => {
    expect(helloEvidence({ ...host, addresses: ["10.0.0.5", "fd00::5"] }, {})).toEqual({
      source: "10.0.0.5, fd00::5 (reported by the Rack)",
      attributes: host,
    });
  });

  it("says nothing rather than something meaningless when a Rack reports no address", () => {
    expect(helloEvidence(host, {})).toEqual({ source: null, attributes: host });
    expect(helloEvidence({ ...host, addresses: [] }, {}).source).toBeNull();
  });

  it("adds the bus user once the bus can tell it", () => {
    expect(helloEvidence({ ...host, addresses: ["10.0.0.5"] }, { busUser: "UABC" }).source).toBe(
      "10.0.0.5 (reported by the Rack); bus user UABC",
    );
    expect(helloEvidence(host, { busUser: "UABC" }).source).toBe("bus user UABC");
  });
});
