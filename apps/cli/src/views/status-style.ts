// One colour per Rack status, the same in every view.
import type { Colors } from "../output.js";

/** A status word coloured for a terminal: active green, pending yellow, offline dim, rejected red, revoked magenta. */
export function styleStatus(status: string, c: Colors): string {
  switch (status) {
    case "active":
      return c.green(status);
    case "pending":
      return c.yellow(status);
    case "offline":
      return c.dim(status);
    case "rejected":
      return c.red(status);
    case "revoked":
      return c.magenta(status);
    default:
      return status;
  }
}
