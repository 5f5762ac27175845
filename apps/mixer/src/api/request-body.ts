// Reading request bodies: strict UTF-8, JSON or plain text by media type, with errors named after each failure.
import type { Context } from "hono";
import type { z } from "zod";
import { OperationError } from "../errors/wire-refusal.js";
import type { ApiEnv } from "./api-deps.js";

/** How a route reads its JSON (or plain-text) body. */
export interface BodySpec<B extends z.ZodType = z.ZodType> {
  schema: B;
  /** When false, an empty body is checked as `{}`. */
  required: boolean;
  /** Plain-text media types also accepted; their text is delivered as `{ [field]: text }` (scenario YAML). */
  text?: { field: string; mediaTypes: readonly string[] };
  /** A cap below the server-wide `maxBodyBytes`; the lower of the two applies. */
  maxBytes?: number;
  /** A sample body, shown in the document and the docs page and replayed by the tests. */
  example?: unknown;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** The media type without parameters, lowercased (`application/json; charset=utf-8` -> `application/json`). */
export function mediaTypeOf(c: Context<ApiEnv>): string | null {
  const header = c.req.header("Content-Type");
  if (header === undefined) return null;
  const type = header.split(";")[0]?.trim().toLowerCase();
  return type === undefined || type === "" ? null : type;
}

export function isJsonMediaType(type: string | null): boolean {
  return type === "application/json" || (type?.endsWith("+json") ?? false);
}

/** The body as text; null when there is none. The size is already capped by the route's body limit. */
export async function readBodyText(c: Context<ApiEnv>): Promise<string | null> {
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  if (bytes.byteLength === 0) return null;
  try {
    return strictUtf8.decode(bytes);
  } catch (cause) {
    throw new OperationError("malformed", "request body is not valid UTF-8", undefined, { cause });
  }
}

/** A JSON body; a syntax error is `malformed`, with the parser's position but not the body itself. */
export function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message.slice(0, 160) : "unparsable";
    throw new OperationError("malformed", `request body is not JSON: ${detail}`, undefined, { cause });
  }
}

/**
 * The value a body schema is checked against: `{}` for an absent optional body, the parsed JSON, or
 * `{ [field]: text }` for a text media type the route accepts. Media types other than JSON are refused with 415
 * on routes that accept text (so a mistaken upload says why); elsewhere the body is read as JSON whatever the
 * header says, because `curl -d` labels JSON as a form.
 */
export async function readRouteBody(c: Context<ApiEnv>, spec: BodySpec): Promise<unknown> {
  const text = await readBodyText(c);
  if (text === null) {
    if (spec.required) throw new OperationError("malformed", "request body is required");
    return {};
  }
  const type = mediaTypeOf(c);
  if (spec.text !== undefined && !isJsonMediaType(type)) {
    if (type !== null && spec.text.mediaTypes.includes(type)) return { [spec.text.field]: text };
    const accepted = ["application/json", ...spec.text.mediaTypes].join(", ");
    throw new OperationError(
      "malformed",
      `unsupported Content-Type ${type ?? "(none)"}: send one of ${accepted}`,
      undefined,
      { status: 415 },
    );
  }
  return parseJsonBody(text);
}
