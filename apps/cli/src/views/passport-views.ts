// How an inspected passport looks: every payload field, relative times, and the verdict on its signature.
import { renderFields } from "../columns.js";
import type { Colors } from "../output.js";
import type { Inspection } from "../passport-inspection.js";
import { formatTimestamp } from "../relative-time.js";
import { styleStatus } from "./status-style.js";

function verdict(i: Inspection, c: Colors): string {
  const v = i.verification;
  if (!v.checked)
    return c.dim(
      "not checked (pass --cluster-key: the public_key of `fluxrig cluster info`, or cluster.pub)",
    );
  if (v.ok) return c.green(`valid: signed by cluster key ${v.cluster_key_id}, within its validity window`);
  return `${c.red("NOT VALID")}: ${v.reason}`;
}

/** The `passport inspect` page. */
export function inspectionText(i: Inspection, c: Colors, now: Date): string {
  const fields: Array<[string, string]> = [
    ["file", i.file],
    ["format", `${i.format} v${i.v}`],
    ["key id", i.kid],
  ];
  const p = i.payload;
  if (p) {
    const expired = new Date(p.expires_at).getTime() <= now.getTime();
    const expires = formatTimestamp(p.expires_at, now);
    fields.push(
      ["cluster", p.cluster],
      ["name", c.bold(p.name)],
      ["status", styleStatus(p.status, c)],
      ["entity id", `${p.entity_id} (${p.entity_id_hex})`],
      ["type", `${p.type_name} (${p.type_id})`],
      ["machine id", String(p.machine_id)],
      ["serial", String(p.serial)],
      ["rack key", `${p.rack_key_fingerprint}\n${c.dim(p.rack_public_key)}`],
      ["issued", formatTimestamp(p.issued_at, now)],
      ["expires", expired ? c.red(`${expires}, expired`) : expires],
    );
  } else if (i.payload_error) {
    fields.push(["payload", `${c.red("cannot decode")}: ${i.payload_error.reason}`]);
  }
  fields.push(["signature", verdict(i, c)]);
  return renderFields(fields, c.dim);
}
