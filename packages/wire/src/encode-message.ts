// Encoding outgoing messages: JSON as UTF-8, refused when it has no JSON form or would be refused for size.
import { DEFAULT_MAX_MESSAGE_BYTES } from "./bounded-json.js";
import { WireEncodeError } from "./wire-error.js";

const utf8 = new TextEncoder();

/**
 * JSON UTF-8 bytes of a message. Throws `WireEncodeError` when the value has no JSON form (bigint, cycle) or
 * the bytes exceed `maxBytes` (default `DEFAULT_MAX_MESSAGE_BYTES`, what receivers accept). Does not validate
 * against a schema: parse with the message's schema first when the content is not already typed.
 *
 * @example
 * nc.publish(heartbeatSubject(name), encodeMessage(heartbeat));
 */
export function encodeMessage(msg: object, options?: { maxBytes?: number }): Uint8Array {
  let text: string | undefined;
  try {
    text = JSON.stringify(msg);
  } catch (cause) {
    throw new WireEncodeError({ code: "malformed", message: "message has no JSON form", cause });
  }
  if (typeof text !== "string")
    throw new WireEncodeError({ code: "malformed", message: "message has no JSON form" });
  const bytes = utf8.encode(text);
  const maxBytes = options?.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (bytes.byteLength > maxBytes) {
    throw new WireEncodeError({
      code: "too_large",
      message: `message is ${bytes.byteLength} bytes, receivers accept at most ${maxBytes}`,
      bytes: bytes.byteLength,
    });
  }
  return bytes;
}
