// Confirmation of every action: a modal <dialog> naming exactly what will happen, focus on Cancel so Enter does not
// confirm by accident, Escape cancels.
import { h } from "./dom.js";

export interface ConfirmOptions {
  title: string;
  /** What will happen, in words (names and action). */
  body: Array<Node | string>;
  /** The confirm button's text; starts with the action verb (Adopt, Reject, Revoke, ...). */
  confirm: string;
  danger?: boolean;
}

let onConfirmed: () => void = () => undefined;

/** Called as an action is confirmed, before it runs: the console clears the previous action's result. */
export function whenConfirmed(hook: () => void): void {
  onConfirmed = hook;
}

/** Resolves true when confirmed, false when cancelled (button, Escape). */
export function confirmAction(opts: ConfirmOptions): Promise<boolean> {
  return new Promise((resolve) => {
    const titleId = `dlg-${Math.random().toString(36).slice(2)}`;
    const cancel = h("button", { type: "button", class: "btn" }, "Cancel");
    const ok = h(
      "button",
      { type: "button", class: opts.danger ? "btn btn-danger" : "btn btn-primary" },
      opts.confirm,
    );
    const dialog = h(
      "dialog",
      { class: "confirm", "aria-labelledby": titleId },
      h("h2", { id: titleId }, opts.title),
      h("div", { class: "confirm-body" }, ...opts.body),
      h("div", { class: "actions" }, cancel, ok),
    );
    let done = false;
    const finish = (value: boolean) => {
      if (done) return;
      done = true;
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    cancel.addEventListener("click", () => finish(false));
    ok.addEventListener("click", () => {
      onConfirmed();
      finish(true);
    });
    dialog.addEventListener("cancel", (e) => {
      e.preventDefault();
      finish(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}
