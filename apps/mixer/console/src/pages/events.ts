// The audit log, newest first, following live, with its hash-chain verification shown.
import type { Ctx } from "../context.js";
import { h, replace } from "../dom.js";
import type { AuditEvent } from "../sse.js";
import { eventRow } from "./rack.js";

const PAGE = 100;
const KEPT = 1000;

export function eventsPage(ctx: Ctx, main: HTMLElement): () => void {
  const stop = new AbortController();
  const verdict = h("p", { class: "chain", "aria-live": "polite" }, "Verifying the hash chain…");
  const list = h("ol", { class: "events", "aria-label": "Audit events, newest first" });
  const older = h("button", { type: "button", class: "btn", hidden: true }, "Load older events");
  let newest = 0;
  let oldest = Number.POSITIVE_INFINITY;
  let verifyTimer: ReturnType<typeof setTimeout> | undefined;

  main.append(
    h("h1", {}, "Events"),
    h(
      "p",
      { class: "lede" },
      "Every decision the Mixer recorded, newest first. Each event's hash covers the one before it.",
    ),
    verdict,
    list,
    older,
  );

  async function verify(): Promise<void> {
    try {
      const result = await ctx.api.get<
        { ok: true; count: number } | { ok: false; broken_at: number; reason: string }
      >("/api/v1/events/verify", stop.signal);
      if (result.ok) {
        replace(verdict, h("strong", { class: "ok" }, "Chain verified"), ` (${result.count} events)`);
        verdict.dataset.chain = "ok";
      } else {
        replace(
          verdict,
          h("strong", { class: "bad" }, `Chain broken at ${result.broken_at}`),
          `: ${result.reason}`,
        );
        verdict.dataset.chain = "broken";
      }
    } catch (err) {
      if (!stop.signal.aborted)
        replace(verdict, `Cannot verify the chain: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const verifySoon = () => {
    clearTimeout(verifyTimer);
    verifyTimer = setTimeout(() => void verify(), 2000);
  };

  function addNewer(events: AuditEvent[]): void {
    for (const event of events) {
      if (event.seq <= newest) continue;
      newest = event.seq;
      oldest = Math.min(oldest, event.seq);
      list.prepend(eventRow(event));
    }
    list.querySelector(".empty")?.remove();
    while (list.children.length > KEPT) list.lastElementChild?.remove();
  }

  async function loadOlder(): Promise<void> {
    const before = oldest === Number.POSITIVE_INFINITY ? newest + 1 : oldest;
    const after = Math.max(0, before - 1 - PAGE);
    const page = await ctx.api.get<{ items: AuditEvent[] }>(
      `/api/v1/events?after=${after}&limit=${PAGE}`,
      stop.signal,
    );
    const items = page.items.filter((e) => e.seq < before);
    for (const event of items.reverse()) {
      list.append(eventRow(event));
      oldest = Math.min(oldest, event.seq);
    }
    older.hidden = after === 0;
  }
  older.addEventListener("click", () => void loadOlder().catch(() => undefined));

  // Live events may arrive before the first page: they are kept in order and the page fills in below them.
  const early: AuditEvent[] = [];
  let ready = false;
  const unsubscribe = ctx.hub.subscribe((event) => {
    if (!ready) early.push(event);
    else addNewer([event]);
    verifySoon();
  });

  void (async () => {
    // The stream's first id is the newest event; if the stream cannot open (the Mixer serves its most streams), the
    // chain's length stands in for it (seqs count from 1), so the page still shows the log.
    let fallbackTimer: ReturnType<typeof setTimeout> | undefined;
    const fallback = new Promise<number>((resolve) => {
      fallbackTimer = setTimeout(() => {
        ctx.api
          .get<{ count?: number }>("/api/v1/events/verify", stop.signal)
          .then((v) => resolve(v.count ?? 0))
          .catch(() => resolve(0));
      }, 3000);
    });
    const cursor = await Promise.race([ctx.hub.cursor(), fallback]);
    clearTimeout(fallbackTimer);
    if (stop.signal.aborted) return;
    newest = cursor;
    oldest = cursor + 1;
    await loadOlder();
    ready = true;
    addNewer(early);
    if (list.children.length === 0) list.append(h("li", { class: "empty" }, "No events yet."));
  })().catch((err) => {
    if (!stop.signal.aborted)
      ctx.messages.failure(`Cannot load the events: ${err instanceof Error ? err.message : String(err)}`);
  });
  void verify();
  return () => {
    stop.abort();
    unsubscribe();
    clearTimeout(verifyTimer);
  };
}
