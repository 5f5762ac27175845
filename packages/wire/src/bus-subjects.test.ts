import { describe, expect, it } from "vitest";
import { INBOX_PREFIXES, inboxWildcard, PUSH_WILDCARDS, rackInboxPrefix } from "./bus-subjects.js";
import { isValidRackName, rackPassportSubject, rackScenarioSubject } from "./subjects.js";
import { WireSubjectError } from "./wire-error.js";

describe("inbox prefixes", () => {
  it("puts a Rack's replies under its own name", () => {
    expect(rackInboxPrefix("rack-nyc-01")).toBe("_INBOX.rack-nyc-01");
    expect(inboxWildcard(rackInboxPrefix("rack-1"))).toBe("_INBOX.rack-1.>");
  });

  it("refuses a name that would widen the prefix", () => {
    for (const bad of ["*", ">", "a.b", "", "Rack", "_mixer"]) {
      expect(() => rackInboxPrefix(bad)).toThrow(WireSubjectError);
    }
  });

  it("keeps the Mixer's and the bootstrap prefix out of every Rack's reach", () => {
    for (const prefix of Object.values(INBOX_PREFIXES)) {
      const token = prefix.split(".")[1];
      expect(isValidRackName(token)).toBe(false);
    }
  });

  it("has push wildcards that match exactly the per-Rack push subjects", () => {
    const matches = (pattern: string, subject: string) =>
      new RegExp(`^${pattern.replaceAll(".", "\\.").replaceAll("*", "[^.]+")}$`).test(subject);
    for (const name of ["a", "rack-nyc-01"]) {
      expect(matches(PUSH_WILDCARDS.scenario, rackScenarioSubject(name))).toBe(true);
      expect(matches(PUSH_WILDCARDS.passport, rackPassportSubject(name))).toBe(true);
      expect(matches(PUSH_WILDCARDS.scenario, rackPassportSubject(name))).toBe(false);
    }
  });
});
