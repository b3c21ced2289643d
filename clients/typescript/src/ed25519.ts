/**
 * Ed25519 verification with @noble/ed25519 (audited, no dependencies, SHA-512 from WebCrypto),
 * in the strict RFC 8032 mode (canonical encodings, S < L) as libsodium checks on the Python
 * side, and Tracemark key ids and key texts (ledger/keys.py).
 */

import * as ed from "@noble/ed25519";

import { concat, fromBase64Lenient, sha256, toHex, utf8 } from "./bytes.js";

const KEY_ID_CONTEXT = concat(utf8("tracemark/key-id/v1"), new Uint8Array([0]));
const TEXT_PREFIX = "ed25519:";

/** True when ``signature`` is a valid Ed25519 signature of ``message`` by ``publicKey``. */
export async function verifyEd25519(
  publicKey: Uint8Array,
  signature: Uint8Array,
  message: Uint8Array,
): Promise<boolean> {
  if (signature.length !== 64 || !isUsablePoint(publicKey)) return false;
  try {
    return await ed.verifyAsync(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/** The raw 32 bytes of ``ed25519:<base64>``, or null when the text is malformed. */
export function parsePublicKeyText(text: unknown): Uint8Array | null {
  if (typeof text !== "string" || !text.startsWith(TEXT_PREFIX)) return null;
  const body = text.slice(TEXT_PREFIX.length);
  if (body.length !== 44) return null;
  const raw = fromBase64Lenient(body);
  return raw !== null && raw.length === 32 ? raw : null;
}

/** A 32-byte encoding of a curve point that is not of small order (it could never verify). */
export function isUsablePoint(raw: Uint8Array): boolean {
  if (raw.length !== 32) return false;
  try {
    return !ed.Point.fromBytes(raw, false).isSmallOrder();
  } catch {
    return false;
  }
}

/** The Tracemark key id: hex of ``SHA-256("tracemark/key-id/v1" || 0x00 || key)[:8]``. */
export async function keyIdOf(publicKey: Uint8Array): Promise<string> {
  return toHex((await sha256(concat(KEY_ID_CONTEXT, publicKey))).subarray(0, 8));
}
