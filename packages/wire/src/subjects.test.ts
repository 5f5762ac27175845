// Subject builders and parsers: valid names map to SPEC §5 subjects, anything else never reaches a subject.
import { describe, expect, it } from "vitest";
import {
  heartbeatSubject,
  isHeartbeatSubjectOf,
  isValidRackName,
  looksLikeEntityId,
  parseHeartbeatSubject,
  parseRackSubject,
  rackPassportSubject,
  rackScenarioSubject,
  SUBJECTS,
  wireMessageSubject,
} from "./subjects.js";
import { WireError, WireSubjectError } from "./wire-error.js";

const BAD_NAMES = [
  "",
  "a.b",
  "*",
  ">",
  "A",
  "Rack-1",
  "-a",
  "a-",
  "a".repeat(64),
  "rack nyc",
  "'; drop table",
  "rack\n",
  "rack\t1",
  "rack_1",
  "räck",
  "rack.>",
  "rack.*",
];

describe("subject builders", () => {
  it("build the SPEC §5 subjects", () => {
    expect(SUBJECTS.hello).toBe("fluxrig.agent.hello");
    expect(SUBJECTS.heartbeatAll).toBe("fluxrig.event.heartbeat.>");
    expect(heartbeatSubject("rack-nyc-01")).toBe("fluxrig.event.heartbeat.rack-nyc-01");
    expect(rackScenarioSubject("rack-nyc-01")).toBe("fluxrig.rack.rack-nyc-01.scenario");
    expect(rackPassportSubject("rack-nyc-01")).toBe("fluxrig.rack.rack-nyc-01.passport");
    expect(wireMessageSubject("cold-chain", "temp-feed")).toBe("fluxrig.msg.cold-chain.temp-feed");
  });

  it("accept the extremes of a DNS label", () => {
    for (const name of ["a", "0", "a".repeat(63), "a-b", "1-2-3"]) {
      expect(isValidRackName(name)).toBe(true);
      expect(heartbeatSubject(name)).toBe(`fluxrig.event.heartbeat.${name}`);
    }
  });

  it("tell names that read as entity ids from names that merely contain digits", () => {
    for (const name of ["0", "216178279671922688", "0x0300040000000000", "0xABC", "0x03000400000000000"]) {
      expect(looksLikeEntityId(name), name).toBe(true);
    }
    for (const name of ["rack-0x01", "0x", "0xg1", "1-2-3", "x0300", "rack-216178279671922688"]) {
      expect(looksLikeEntityId(name), name).toBe(false);
    }
  });

  const builders: [string, (name: string) => string][] = [
    ["heartbeatSubject", heartbeatSubject],
    ["rackScenarioSubject", rackScenarioSubject],
    ["rackPassportSubject", rackPassportSubject],
    ["wireMessageSubject(scenario)", (n) => wireMessageSubject(n, "ok")],
    ["wireMessageSubject(wire)", (n) => wireMessageSubject("ok", n)],
  ];

  describe.each(builders)("%s refuses", (_label, build) => {
    it.each(BAD_NAMES)("%j", (name) => {
      expect(isValidRackName(name)).toBe(false);
      let thrown: unknown;
      try {
        build(name);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(WireSubjectError);
      expect(thrown).toBeInstanceOf(WireError);
      expect((thrown as WireSubjectError).value).toBe(name);
      expect((thrown as WireSubjectError).code).toBe("bad_request");
    });
  });

  it("names the bad field of a wire subject", () => {
    expect(() => wireMessageSubject("ok", "a.b")).toThrow(expect.objectContaining({ field: "wire" }));
    expect(() => wireMessageSubject("a.b", "ok")).toThrow(expect.objectContaining({ field: "scenario" }));
  });

  it("refuses values that are not strings at run time", () => {
    expect(() => heartbeatSubject(42 as unknown as string)).toThrow(WireSubjectError);
    expect(isValidRackName(undefined)).toBe(false);
  });
});

describe("subject parsers", () => {
  it("read the name back from a heartbeat subject", () => {
    expect(parseHeartbeatSubject(heartbeatSubject("rack-1"))).toBe("rack-1");
  });

  it.each([
    "fluxrig.event.heartbeat.",
    "fluxrig.event.heartbeat.a.b",
    "fluxrig.event.heartbeat.>",
    "fluxrig.event.heartbeat.*",
    "fluxrig.event.heartbeat.A",
    "fluxrig.event.heartbeats.rack-1",
    "fluxrig.rack.rack-1.passport",
  ])("answer null for %j", (subject) => {
    expect(parseHeartbeatSubject(subject)).toBeNull();
  });

  it("tell whether a subject is a valid name's heartbeat subject, as the parser would", () => {
    const subjects = [
      heartbeatSubject("rack-1"),
      heartbeatSubject("rack-10"),
      "fluxrig.event.heartbeat.",
      "fluxrig.event.heartbeat.rack-1.x",
      "fluxrig.event.heartbeats.rack-1",
      "xfluxrig.event.heartbeat.rack-1",
      "fluxrig.event.heartbeat.xrack-1",
      "fluxrig.rack.rack-1.passport",
    ];
    for (const name of ["rack-1", "rack-10", "x"]) {
      for (const subject of subjects) {
        expect(isHeartbeatSubjectOf(subject, name), `${subject} / ${name}`).toBe(
          parseHeartbeatSubject(subject) === name,
        );
      }
    }
    expect(isHeartbeatSubjectOf(heartbeatSubject("rack-1"), "rack-1")).toBe(true);
  });

  it("split per-Rack subjects", () => {
    expect(parseRackSubject(rackScenarioSubject("rack-1"))).toEqual({ name: "rack-1", kind: "scenario" });
    expect(parseRackSubject(rackPassportSubject("rack-1"))).toEqual({ name: "rack-1", kind: "passport" });
    expect(parseRackSubject("fluxrig.rack.rack-1.other")).toBeNull();
    expect(parseRackSubject("fluxrig.rack.a.b.passport")).toBeNull();
    expect(parseRackSubject("fluxrig.rack.rack-1")).toBeNull();
  });
});
