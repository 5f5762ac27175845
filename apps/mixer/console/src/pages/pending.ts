// Pending approvals: every pending Rack with its evidence side by side; adopt or reject one or many, confirmed.
import { ApiError } from "../api.js";
import type { Ctx } from "../context.js";
import { confirmAction } from "../dialog.js";
import { h, replace } from "../dom.js";
import {
  describeEnrollmentToken,
  type EnrollmentTokenInfo,
  type ExpectedKeyInfo,
  expectedKeyVerdict,
  matchingEnrollmentTokens,
} from "../evidence.js";
import { absoluteTime, nameList, plural, relativeTime } from "../format.js";
import { actionButton, code, facts, statusBadge } from "../widgets.js";
import { hostOf, type NameConflict, type Rack, type RackPage, rackPath } from "./rack-types.js";

/** Pending Racks shown with their full evidence (a request each); more are listed with what the list gives. */
const DETAILED = 200;
/** Cards drawn at most (by name); a burst of thousands of pending Racks is better decided by pattern (CLI, API). */
const MAX_CARDS = 500;

interface BulkResult {
  adopted: Array<{ name: string }>;
  skipped: Array<{ ref: string; reason: string; code: string }>;
}

export function pendingPage(ctx: Ctx, main: HTMLElement): () => void {
  const canAct = ctx.can("operator");
  const stop = new AbortController();
  const rows = new Map<string, { rack: Rack; element: HTMLLIElement; checkbox: HTMLInputElement | null }>();
  const list = h("ul", { class: "cards", "aria-label": "Pending Racks" });
  const countText = h("p", { class: "count-line" }, "Loading…");
  const adoptSelected = h(
    "button",
    { type: "button", class: "btn btn-primary", disabled: true },
    "Adopt selected",
  );
  const rejectSelected = h(
    "button",
    { type: "button", class: "btn btn-danger", disabled: true },
    "Reject selected",
  );
  const selectAll = h("input", { type: "checkbox", id: "select-all" });
  let expected: ExpectedKeyInfo[] = [];
  let tokens: EnrollmentTokenInfo[] = [];
  let conflicts: NameConflict[] = [];
  /** Pending Racks past MAX_CARDS: counted, not drawn. */
  let notShown = 0;

  main.append(
    h("h1", {}, "Pending approvals"),
    h(
      "p",
      { class: "lede" },
      "Racks that asked to join and wait for a decision. Check the evidence, then adopt or reject.",
      canAct ? "" : " Your role (viewer) can look but not decide.",
    ),
    countText,
  );
  if (canAct) {
    main.append(
      h(
        "div",
        { class: "toolbar" },
        h("label", { class: "check", for: "select-all" }, selectAll, " Select all"),
        adoptSelected,
        rejectSelected,
      ),
    );
  }
  main.append(list);

  const selected = () => [...rows.values()].filter((r) => r.checkbox?.checked && r.rack.status === "pending");
  const updateBulk = () => {
    const n = selected().length;
    adoptSelected.disabled = n === 0;
    rejectSelected.disabled = n === 0;
    const pending = [...rows.values()].filter((r) => r.rack.status === "pending");
    const more = notShown > 0 ? ` (${notShown} more not shown)` : "";
    countText.textContent = `${plural(pending.length + notShown, "pending Rack")}${more}${n > 0 ? `, ${n} selected` : ""}`;
    selectAll.checked = n > 0 && n === pending.filter((r) => r.checkbox !== null).length;
  };
  selectAll.addEventListener("change", () => {
    for (const row of rows.values())
      if (row.checkbox !== null && !row.checkbox.disabled) row.checkbox.checked = selectAll.checked;
    updateBulk();
  });

  function evidenceOf(rack: Rack): HTMLDListElement {
    const now = Date.now();
    const verdict = expectedKeyVerdict(rack, expected);
    const keyEvidence =
      verdict.kind === "none"
        ? "no expected key for this name"
        : verdict.kind === "matches"
          ? h("span", { class: "ok" }, "matches this Rack's key")
          : h("span", { class: "bad" }, "DIFFERS: expected ", code(verdict.expected));
    const matching = matchingEnrollmentTokens(rack.name, tokens);
    const tokenEvidence = !canAct
      ? "visible to operators"
      : matching.length === 0
        ? "none matches this name"
        : h("span", {}, matching.map(describeEnrollmentToken).join("; "));
    const rackConflicts = rack.evidence?.conflicts ?? conflicts.filter((c) => c.name === rack.name);
    const conflictEvidence =
      rackConflicts.length === 0
        ? "none"
        : h(
            "span",
            { class: "bad" },
            rackConflicts
              .map(
                (c) =>
                  `${c.claimed_key_fingerprint} (${c.attempts} attempts, last ${relativeTime(c.last_at, now)})`,
              )
              .join("; "),
          );
    return facts([
      ["Key fingerprint", code(rack.key_fingerprint)],
      ["Host", hostOf(rack)],
      ["Source", rack.evidence?.last_source ?? (rack.evidence === undefined ? "…" : "not reported")],
      ["First seen", `${absoluteTime(rack.first_seen)} (${relativeTime(rack.first_seen, now)})`],
      [
        "Last seen",
        h(
          "span",
          {},
          `${absoluteTime(rack.last_seen)} (${relativeTime(rack.last_seen, now)})`,
          rack.stale
            ? h("strong", { class: "bad" }, " stale: silent past the offline window, check the machine")
            : "",
        ),
      ],
      ["Hellos", rack.evidence === undefined ? "…" : String(rack.evidence.hello_count)],
      ["Version", rack.version],
      ["Entity id", code(`${rack.entity_id} (${rack.entity_id_hex})`)],
      ["Expected key", keyEvidence],
      ["Enrollment token", tokenEvidence],
      ["Name conflicts", conflictEvidence],
    ]);
  }

  function draw(rack: Rack): HTMLLIElement {
    const decided = rack.status !== "pending";
    let checkbox: HTMLInputElement | null = null;
    const head = h("div", { class: "card-head" });
    if (canAct && !decided) {
      checkbox = h("input", { type: "checkbox", "aria-label": `Select ${rack.name}` });
      checkbox.addEventListener("change", updateBulk);
      head.append(checkbox);
    }
    head.append(
      h("h2", {}, h("a", { href: `#/racks/${rack.name}` }, rack.name)),
      statusBadge(rack.status),
      rack.stale && !decided ? h("span", { class: "tag tag-warn" }, "stale") : "",
    );
    const actions = h("div", { class: "actions" });
    if (canAct && !decided) {
      actions.append(
        actionButton("Adopt", rack.name, () => void adopt([rack.name]), "btn btn-primary"),
        actionButton("Reject", rack.name, () => void reject([rack.name]), "btn btn-danger"),
      );
    }
    const element = h(
      "li",
      { class: decided ? "card decided" : "card", "data-rack": rack.name },
      head,
      evidenceOf(rack),
      actions,
    );
    const old = rows.get(rack.name);
    rows.set(rack.name, { rack, element, checkbox });
    if (old !== undefined) old.element.replaceWith(element);
    else list.append(element);
    return element;
  }

  function setStatus(name: string, status: string): void {
    const row = rows.get(name);
    if (row === undefined || row.rack.status === status) return;
    draw({ ...row.rack, status });
    updateBulk();
  }

  async function adopt(names: string[]): Promise<void> {
    const one = names.length === 1 ? rows.get(names[0]!)?.rack : undefined;
    const ok = await confirmAction({
      title: names.length === 1 ? `Adopt ${names[0]}?` : `Adopt ${names.length} Racks?`,
      body: [
        h(
          "p",
          {},
          `Adopt ${nameList(names, 10)}: ` +
            (names.length === 1
              ? "it gets a passport, joins the cluster and runs its scenario's gears."
              : "they get passports, join the cluster and run their scenario's gears."),
        ),
        one !== undefined ? h("p", {}, "Only with the key ", code(one.key_fingerprint), " shown here.") : "",
      ],
      confirm: names.length === 1 ? `Adopt ${names[0]}` : `Adopt ${names.length} Racks`,
    });
    if (!ok) return;
    try {
      if (one !== undefined) {
        const rack = await ctx.api.post<Rack>(rackPath(one.name, "adopt"), {
          expect_key: one.key_fingerprint,
        });
        setStatus(rack.name, rack.status);
        ctx.messages.success(
          rack.unchanged
            ? `${rack.name} was already ${rack.status}.`
            : `Adopted ${rack.name}: now ${rack.status}.`,
        );
      } else {
        const result = await ctx.api.post<BulkResult>("/api/v1/racks/adopt", { refs: names });
        for (const a of result.adopted) setStatus(a.name, "active");
        const skipped = result.skipped.map((s) => `${s.ref} (${s.reason})`);
        const text = `Adopted ${plural(result.adopted.length, "Rack")}${
          result.adopted.length > 0
            ? `: ${nameList(
                result.adopted.map((a) => a.name),
                10,
              )}`
            : ""
        }.`;
        if (skipped.length > 0) ctx.messages.failure(`${text} Skipped: ${skipped.join("; ")}.`);
        else ctx.messages.success(text);
      }
      ctx.refreshCounts();
    } catch (err) {
      ctx.messages.failure(`Adopt refused: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  async function reject(names: string[]): Promise<void> {
    const ok = await confirmAction({
      title: names.length === 1 ? `Reject ${names[0]}?` : `Reject ${names.length} Racks?`,
      body: [
        h(
          "p",
          {},
          `Reject ${nameList(names, 10)}: ${names.length === 1 ? "its" : "their"} hellos are refused from now on and ` +
            `${names.length === 1 ? "it is" : "they are"} not queued again. Only an admin can undo it (remove the Rack).`,
        ),
      ],
      confirm: names.length === 1 ? `Reject ${names[0]}` : `Reject ${names.length} Racks`,
      danger: true,
    });
    if (!ok) return;
    const done: string[] = [];
    const failed: string[] = [];
    for (const name of names) {
      try {
        const rack = await ctx.api.post<Rack>(rackPath(name, "reject"), {});
        setStatus(rack.name, rack.status);
        done.push(name);
      } catch (err) {
        failed.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    ctx.refreshCounts();
    const text = done.length > 0 ? `Rejected ${nameList(done, 10)}.` : "";
    if (failed.length > 0) ctx.messages.failure(`${text} Reject refused: ${failed.join("; ")}`.trim());
    else ctx.messages.success(text);
  }

  adoptSelected.addEventListener("click", () => void adopt(selected().map((r) => r.rack.name)));
  rejectSelected.addEventListener("click", () => void reject(selected().map((r) => r.rack.name)));

  async function detail(name: string): Promise<void> {
    try {
      const rack = await ctx.api.get<Rack>(rackPath(name), stop.signal);
      const row = rows.get(name);
      if (row === undefined || stop.signal.aborted) return;
      // Only the evidence is redrawn: a checkbox ticked or a button focused meanwhile stays as it is. The status
      // is the card's own (the stream or an action may have changed it since the list was read).
      row.rack = { ...rack, status: row.rack.status };
      row.element.querySelector("dl.facts")?.replaceWith(evidenceOf(row.rack));
    } catch {
      // Gone meanwhile (removed, or the page left): the stream will say.
    }
  }

  async function load(): Promise<void> {
    const side = Promise.allSettled([
      ctx.api.get<ExpectedKeyInfo[]>("/api/v1/expected-keys", stop.signal),
      canAct
        ? ctx.api.get<EnrollmentTokenInfo[]>("/api/v1/enrollment-tokens", stop.signal)
        : Promise.resolve([]),
      ctx.api.get<{ items: NameConflict[] }>("/api/v1/conflicts", stop.signal),
    ]);
    const racks: Rack[] = [];
    let after: string | null = null;
    do {
      const q: string = `/api/v1/racks?status=pending&limit=1000${after === null ? "" : `&after=${after}`}`;
      const page: RackPage = await ctx.api.get<RackPage>(q, stop.signal);
      racks.push(...page.items);
      after = page.next;
    } while (after !== null && racks.length < 10_000);
    const [e, t, c] = await side;
    if (e.status === "fulfilled") expected = asList<ExpectedKeyInfo>(e.value);
    if (t.status === "fulfilled") tokens = asList<EnrollmentTokenInfo>(t.value);
    if (c.status === "fulfilled") conflicts = c.value.items;
    for (const rack of racks.slice(0, MAX_CARDS)) draw(rack);
    notShown = Math.max(0, racks.length - MAX_CARDS);
    if (notShown > 0) {
      main.insertBefore(
        h(
          "p",
          { class: "muted" },
          `The first ${MAX_CARDS} pending Racks by name are shown; decide them and reload for the next, or adopt by ` +
            "pattern with fluxrig racks adopt --pattern.",
        ),
        list,
      );
    }
    if (racks.length === 0) list.append(h("li", { class: "empty" }, "No Rack waits for a decision."));
    updateBulk();
    // The evidence only `show` gives (hello count, source), a few at a time.
    const queue = racks.slice(0, DETAILED).map((r) => r.name);
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        for (let name = queue.shift(); name !== undefined && !stop.signal.aborted; name = queue.shift())
          await detail(name);
      }),
    );
  }

  const unsubscribe = ctx.hub.subscribe((event) => {
    if (event.name === null) return;
    if (event.kind === "status_changed" && event.to_status !== null) setStatus(event.name, event.to_status);
    else if (event.kind === "rack_deleted") setStatus(event.name, "removed");
    else if (event.kind === "rack_enrolled" && event.to_status === "pending" && !rows.has(event.name)) {
      if (rows.size >= MAX_CARDS) {
        notShown += 1;
        updateBulk();
        return;
      }
      list.querySelector(".empty")?.remove();
      void ctx.api
        .get<Rack>(rackPath(event.name), stop.signal)
        .then((rack) => {
          if (!rows.has(rack.name)) draw(rack);
          updateBulk();
        })
        .catch(() => undefined);
    }
  });

  load().catch((err) => {
    if (stop.signal.aborted) return;
    replace(countText, "");
    ctx.messages.failure(
      `Cannot load the pending Racks: ${err instanceof ApiError ? err.message : String(err)}`,
    );
  });
  return () => {
    stop.abort();
    unsubscribe();
  };
}

/** The token lists answer a bare array; tolerate an `{items}` wrapper too. */
function asList<T>(value: unknown): T[] {
  if (Array.isArray(value)) return value as T[];
  const items = (value as { items?: unknown }).items;
  return Array.isArray(items) ? (items as T[]) : [];
}
