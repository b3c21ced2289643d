/**
 * Byte helpers shared by the offline verifier and the webhook check: UTF-8, hex, and the two
 * base64 alphabets with the strictness of the Python side (canonical encodings only, so one
 * value has one spelling and a tampered padding bit is never accepted).
 */

const STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

const encoder = new TextEncoder();

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function encodeWith(bytes: Uint8Array, alphabet: string, pad: boolean): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i]!;
    const b = i + 1 < bytes.length ? bytes[i + 1]! : 0;
    const c = i + 2 < bytes.length ? bytes[i + 2]! : 0;
    const n = (a << 16) | (b << 8) | c;
    out += alphabet[(n >> 18) & 63]! + alphabet[(n >> 12) & 63]!;
    out += i + 1 < bytes.length ? alphabet[(n >> 6) & 63]! : pad ? "=" : "";
    out += i + 2 < bytes.length ? alphabet[n & 63]! : pad ? "=" : "";
  }
  return out;
}

/** Standard base64 with padding (RFC 4648 section 4). */
export function toBase64(bytes: Uint8Array): string {
  return encodeWith(bytes, STD, true);
}

/** base64url without padding (RFC 4648 section 5). */
export function toBase64Url(bytes: Uint8Array): string {
  return encodeWith(bytes, URL, false);
}

function decodeWith(
  text: string,
  alphabet: string,
  padded: boolean,
  canonical = true,
): Uint8Array | null {
  let body = text;
  if (padded) {
    if (text.length % 4 !== 0) return null;
    body = text.replace(/={1,2}$/, "");
  } else if (text.length % 4 === 1) {
    return null;
  }
  const out: number[] = [];
  let bits = 0;
  let acc = 0;
  for (const char of body) {
    const v = alphabet.indexOf(char);
    if (v < 0) return null;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  const bytes = Uint8Array.from(out);
  if (encodeWith(bytes, alphabet, padded).length !== text.length) return null; // bad padding
  // Canonical: the unused low bits must be zero too (one value, one spelling).
  return !canonical || encodeWith(bytes, alphabet, padded) === text ? bytes : null;
}

/** Decode canonical, padded standard base64, or null. */
export function fromBase64(text: string): Uint8Array | null {
  return decodeWith(text, STD, true);
}

/** Decode padded standard base64 whose unused low bits may be set (Python's
 * ``b64decode(validate=True)``), or null. */
export function fromBase64Lenient(text: string): Uint8Array | null {
  return decodeWith(text, STD, true, false);
}

/** Decode canonical, unpadded base64url, or null. */
export function fromBase64Url(text: string): Uint8Array | null {
  return decodeWith(text, URL, false);
}

/** Compare two byte strings in time that depends only on their lengths. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

function subtle(): SubtleCrypto {
  const api = globalThis.crypto?.subtle;
  if (api === undefined) {
    throw new Error("WebCrypto (globalThis.crypto.subtle) is not available: use Node.js 20+ or a browser over HTTPS");
  }
  return api;
}

export async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle().digest("SHA-256", data as BufferSource));
}

export async function hmacSha256(key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  const imported = await subtle().importKey(
    "raw",
    key as BufferSource,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await subtle().sign("HMAC", imported, data as BufferSource));
}
