// A Rack that missed a push (issue 18): its link to nats-server is cut while its scenario changes, then comes back.
// Real nats-server on the product's JWT bus, real Mixer, real fluxrig-rack process; only the Rack's own TCP link is
// cut (a relay), so the Mixer stays connected and its pushes really go out while the Rack cannot hear them.
//
// Single mode (the default) is what it has always been: an adopted Rack says no hello when its link comes back, so it
// runs the scenario it last heard until its next hello (its passport renewal, 2/3 of `[passport] ttl`). Cluster mode:
// the Rack reads its own key of `fluxrig_rack_state` after the reconnect and runs the scenario the Mixer wrote there.
import { attachLogsOnFailure } from "@fluxrig/testkit";
import { beforeEach, describe, expect, test } from "vitest";
import { missScenario, rackOnScenario, runs } from "./support/cut-fleet.js";
import { type RackView, showRack, waitForRack } from "./support/real-fleet.js";

beforeEach(({ onTestFailed }) => attachLogsOnFailure(onTestFailed));

const seqOf = (r: RackView) => r.stats?.presence?.seq ?? -1;

describe("a Rack that missed a push (JWT bus, real Mixer, real Rack)", () => {
  test("single mode: it runs the scenario it last heard until its next hello, as it always has", async () => {
    const name = "rack-missed-single";
    const fleet = await rackOnScenario({ rack: name, scenario: "alpha", auth: "jwt", cluster: false });
    await missScenario(fleet, name, "beta");
    // Heartbeats after the reconnect (five of them) still name alpha: no hello, no read, nothing told it.
    const back = await showRack(fleet.h, name);
    const later = await waitForRack(fleet.h, name, (r) => seqOf(r) >= seqOf(back) + 5, {
      message: "five heartbeats after the reconnect",
    });
    expect(later.stats?.scenario?.name).toBe("alpha");
    // Its grant has no state key in single mode: it never reads or watches one, not even at connect.
    expect(fleet.rack.lines().some((l) => l.includes("rack state"))).toBe(false);
  });

  test("cluster mode: it reads its own state after the reconnect and runs the scenario activated meanwhile", async () => {
    const name = "rack-missed-cluster";
    const fleet = await rackOnScenario({ rack: name, scenario: "alpha", auth: "jwt", cluster: true });
    const since = await missScenario(fleet, name, "beta");
    await fleet.rack.waitForJson(
      { msg: "rack state: applying", scenario: "beta", source: "read after reconnect" },
      { since, timeoutMs: 15_000 },
    );
    const running = await runs(fleet.h, name, "beta");
    expect(running.status).toBe("active");
    // Beta's wire flows: the state brought the credential whose grant allows it (a denied wire counts nothing).
    const countIn = (r: object) =>
      ((r as { gears?: Array<{ name: string; in: number }> | null }).gears ?? []).find(
        (g) => g.name === "count-0",
      )?.in ?? 0;
    const from = countIn(running);
    await waitForRack(fleet.h, name, (r) => countIn(r) >= from + 5, { message: "beta's counter counting" });
  });
});
