/**
 * Standard Webhooks (https://www.standardwebhooks.com/) signature verification for a receiver
 * of Tracemark's events. Every delivery carries
 *
 *     webhook-id         the message id, stable across retries: deduplicate on it
 *     webhook-timestamp  integer seconds since the epoch
 *     webhook-signature  space-separated "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>"
 *
 * where the key is the base64 part of the webhook's secret (``whsec_<base64>``, ``webhookKey``). The HMAC is
 * over the raw body bytes as received: verify before parsing. Comparison is constant-time;
 * a timestamp more than ``toleranceSeconds`` (300) from ``now`` is refused (replays).
 */

import { concat, constantTimeEqual, fromBase64, fromBase64Lenient, hmacSha256, toBase64, utf8 } from "./bytes.js";
import { TracemarkError } from "./errors.js";

export const SECRET_PREFIX = "whsec_";
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** Request headers as fetch (``Headers``), Node's ``http`` (``req.headers``) or a plain object give them. */
export type HeaderSource =
  | Headers
  | Record<string, string | readonly string[] | undefined>
  | Iterable<readonly [string, string]>;

export interface WebhookOptions {
  /** The time to judge the timestamp at, ms since the epoch (default: now). */
  now?: number;
  toleranceSeconds?: number;
}

/** A delivery whose signature verified. */
export interface VerifiedWebhook<T = unknown> {
  id: string;
  /** The signed timestamp, seconds since the epoch. */
  timestamp: number;
  /** The parsed JSON body: ``{id, type, created, platform, webhook_id, data}``. */
  event: T;
}

function header(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name) ?? undefined;
  const pairs: Iterable<readonly [string, unknown]> =
    Symbol.iterator in headers
      ? (headers as Iterable<readonly [string, string]>)
      : Object.entries(headers as Record<string, unknown>);
  for (const [key, value] of pairs) {
    if (key.toLowerCase() !== name) continue;
    if (Array.isArray(value)) return value.join(" ");
    return typeof value === "string" ? value : undefined;
  }
  return undefined;
}

function refuse(code: string, message: string): TracemarkError {
  return new TracemarkError(code, message);
}

/**
 * The HMAC key of a secret, as the server derives it (api/webhooks.py ``webhook_key``): the
 * bytes of the standard base64 after ``whsec_`` (24 to 64 bytes; the prefix is optional).
 * A secret of Tracemark releases before Standard Webhooks (``whsec_`` + URL-safe text, no
 * valid base64 key) keeps its old key, the UTF-8 bytes of the whole secret.
 */
export function webhookKey(secret: string): Uint8Array {
  if (typeof secret !== "string" || secret === "" || secret === SECRET_PREFIX) {
    throw refuse("webhook_secret", "the webhook secret is empty: it is the whsec_... shown when the webhook was created");
  }
  const text = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = fromBase64Lenient(text);
  if (key !== null && key.length >= 24 && key.length <= 64) return key;
  return utf8(secret);
}

function bodyBytes(body: string | Uint8Array): Uint8Array {
  return typeof body === "string" ? utf8(body) : body;
}

/** The ``webhook-signature`` value (``v1,<base64>``) of a delivery: what a sender sends. */
export async function signWebhook(
  secret: string,
  id: string,
  timestamp: number,
  body: string | Uint8Array,
): Promise<string> {
  const mac = await hmacSha256(webhookKey(secret), concat(utf8(`${id}.${timestamp}.`), bodyBytes(body)));
  return `v1,${toBase64(mac)}`;
}

/**
 * Verify a delivery and return its parsed event. ``secret`` may be a list while you rotate
 * (the old and the new secret): one match is enough. Throws ``TracemarkError`` with code
 * ``webhook_headers_missing``, ``webhook_timestamp``, ``webhook_signature`` or
 * ``webhook_secret``. ``body`` must be the raw body, not re-serialized JSON.
 */
export async function verifyWebhook<T = unknown>(
  secret: string | readonly string[],
  headers: HeaderSource,
  body: string | Uint8Array,
  options: WebhookOptions = {},
): Promise<VerifiedWebhook<T>> {
  const secrets = typeof secret === "string" ? [secret] : [...secret];
  if (secrets.length === 0) throw refuse("webhook_secret", "no webhook secret given");
  const keys = secrets.map(webhookKey);
  const id = header(headers, "webhook-id");
  const stamp = header(headers, "webhook-timestamp");
  const signatures = header(headers, "webhook-signature");
  if (!id || !stamp || !signatures) {
    throw refuse(
      "webhook_headers_missing",
      "not a signed delivery: webhook-id, webhook-timestamp and webhook-signature are required",
    );
  }
  if (!/^[0-9]{1,15}$/.test(stamp)) throw refuse("webhook_timestamp", "webhook-timestamp is not a number of seconds");
  const timestamp = Number(stamp);
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(now - timestamp) > tolerance) {
    throw refuse(
      "webhook_timestamp",
      `webhook-timestamp is ${now - timestamp} s from now, more than the ${tolerance} s allowed (a replay, or a wrong clock)`,
    );
  }
  const bytes = bodyBytes(body);
  const signed = concat(utf8(`${id}.${stamp}.`), bytes);
  const expected = await Promise.all(keys.map((key) => hmacSha256(key, signed)));
  let ok = false;
  for (const candidate of signatures.split(" ")) {
    const comma = candidate.indexOf(",");
    if (comma < 0 || candidate.slice(0, comma) !== "v1") continue; // other versions: not ours
    const mac = fromBase64(candidate.slice(comma + 1));
    if (mac === null) continue;
    for (const mine of expected) if (constantTimeEqual(mac, mine)) ok = true; // no early exit
  }
  if (!ok) throw refuse("webhook_signature", "no webhook-signature matches the body with this secret");
  let event: T;
  try {
    event = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)) as T;
  } catch {
    throw refuse("webhook_body", "the signed body is not JSON");
  }
  return { id, timestamp, event };
}
