// The console's stream follower (console/src/sse.ts) against the API's real event-stream route: it reports the
// cursor, delivers each event once, reconnects with Last-Event-ID when the stream ends, and stops on a refused token.
import { afterEach, describe, expect, test, vi } from "vitest";
import { Api } from "../../console/src/api.js";
import { type AuditEvent, followAudit } from "../../console/src/sse.js";
import { buildTestApi, TOKEN } from "../../test/support/test-api.js";

afterEach(() => vi.unstubAllGlobals());

/** Routes the console's same-origin fetches to the app, recording each request's Last-Event-ID. */
function serve(app: ReturnType<typeof buildTestApi>["app"]) {
  const lastIds: Array<string | null> = [];
  vi.stubGlobal("fetch", async (path: string, init: RequestInit) => {
    lastIds.push(new Headers(init.headers).get("Last-Event-ID"));
    return app.request(path, init);
  });
  return lastIds;
}

describe("followAudit", () => {
  test("cursor once, every event once, then a reconnect that resumes after the last id", async () => {
    const { app } = buildTestApi();
    const lastIds = serve(app);
    const stop = new AbortController();
    const seen: number[] = [];
    const cursors: number[] = [];
    const states: boolean[] = [];
    const done = followAudit(
      new Api(TOKEN),
      {
        onCursor: (seq) => cursors.push(seq),
        onEvent: (event: AuditEvent) => seen.push(event.seq),
        onState: (live) => states.push(live),
      },
      stop.signal,
    );
    // The fake log has 5 events; its stream sends them and ends; the follower comes back after its last id.
    await vi.waitFor(() => expect(lastIds.length).toBeGreaterThanOrEqual(2), { timeout: 5000 });
    stop.abort();
    await done;
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(cursors).toEqual([0]);
    expect(lastIds.slice(0, 2)).toEqual([null, "5"]);
    expect(states.slice(0, 2)).toEqual([true, false]);
  });

  test("a refused token stops the follower and says so, without retrying", async () => {
    const { app } = buildTestApi();
    const lastIds = serve(app);
    const refused = vi.fn();
    await followAudit(
      new Api("not-the-token"),
      { onEvent: () => undefined, onRefused: refused },
      new AbortController().signal,
    );
    expect(refused).toHaveBeenCalledOnce();
    expect(lastIds).toHaveLength(1);
  });
});
