// Small pieces shared by pages: the status word, definition lists, buttons with a hidden name.
import { h } from "./dom.js";

/** Status by colour and by word: `<span data-status="active">active</span>`. */
export function statusBadge(status: string): HTMLSpanElement {
  return h("span", { class: `status status-${status}`, "data-status": status }, status);
}

/** A definition list of label/value pairs (values may be nodes); null values are left out. */
export function facts(pairs: Array<[string, Node | string | null]>): HTMLDListElement {
  const dl = h("dl", { class: "facts" });
  for (const [label, value] of pairs) {
    if (value === null) continue;
    dl.append(h("div", {}, h("dt", {}, label), h("dd", {}, value)));
  }
  return dl;
}

/** A button whose visible text is the verb and whose accessible name adds the object: `Adopt rack-a`. */
export function actionButton(
  verb: string,
  object: string,
  onclick: () => void,
  cls = "btn",
): HTMLButtonElement {
  return h(
    "button",
    { type: "button", class: cls, onclick: () => onclick() },
    verb,
    h("span", { class: "sr-only" }, ` ${object}`),
  );
}

/** A monospace value (ids, fingerprints) that may wrap anywhere. */
export function code(text: string): HTMLElement {
  return h("code", { class: "mono" }, text);
}
