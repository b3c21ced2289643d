/**
 * Trust bundles: who produces which GTINs and with which keys, signed by the operator's log
 * key, for checking codes without the server (docs/format.md, "Trust bundle"; Python:
 * ledger/trust.py). ``openTrustBundle`` verifies the envelope exactly as the Python side does:
 *
 *     {"bundle": {...}, "signature": "<base64 of 64 bytes>", "signer": "<log key id>"}
 *     signature = Ed25519(log key, "tracemark/trust/v1" || 0x00 || canonical(bundle))
 *
 * and refuses a bundle that is unsigned, tampered with, signed by another key, for another
 * log, dated more than 5 minutes ahead of ``now`` or older than ``maxAgeMs``; the checkpoint
 * it carries must verify with the same key.
 */

import { canonicalJson } from "./canonical.js";
import { concat, fromBase64Lenient, utf8 } from "./bytes.js";
import { keyIdOf, parsePublicKeyText, verifyEd25519 } from "./ed25519.js";
import { TracemarkError } from "./errors.js";
import { type Checkpoint, openCheckpoint, parseLogKey } from "./note.js";

export const TRUST_CONTEXT = "tracemark/trust/v1";
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;
export const DEFAULT_MAX_AGE_MS = 7 * 24 * 3600 * 1000;
const MAX_BUNDLE_SIZE = 8 * 1024 * 1024;

/** A registered key as an offline verifier sees it. */
export interface BundleKey {
  publicKey: Uint8Array;
  keyId: string;
  actorId: string;
  /** Retired from this time (ms); -1: not retired. Codes signed before stay valid. */
  effectiveTime: number;
  /** Reported compromised from this time (ms); -1: never. Its codes are refused offline. */
  compromisedSince: number;
}

/** A trust bundle whose signature, origin and age were checked. */
export interface TrustBundle {
  origin: string;
  /** When the server made it (ms since the epoch). */
  created: number;
  resolvers: readonly string[];
  /** The log's signed tree head the bundle carries (keep it to check later proofs). */
  checkpoint: Checkpoint;
  /** The bundle body as signed (actors, prefixes, keys, resolvers ...). */
  body: Record<string, unknown>;
  /** (actor id, name) of the producer owning a GTIN's company prefix, or null. */
  producerOf(gtin: string): { actorId: string; name: string } | null;
  /** Every key whose id starts with the byte ``hint``. */
  keysWithHint(hint: number): readonly BundleKey[];
  isResolver(stem: string): boolean;
}

export interface OpenOptions {
  /** The log's verifier key (``origin+hash+base64``), pinned by the caller. */
  logKey: string;
  /** The time to judge the bundle's age at, ms since the epoch (default: now). */
  now?: number;
  /** Refuse bundles older than this (default 7 days, as ``tracemark codes verify``). */
  maxAgeMs?: number;
}

function bad(code: string, message: string): TracemarkError {
  return new TracemarkError(code, message);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Verify a trust bundle file (its text, bytes, or the parsed JSON) and index it. */
export async function openTrustBundle(
  data: string | Uint8Array | Record<string, unknown>,
  options: OpenOptions,
): Promise<TrustBundle> {
  let logKey;
  try {
    logKey = await parseLogKey(options.logKey);
  } catch (error) {
    throw bad("invalid_log_key", `the pinned log key is not valid: ${(error as Error).message}`);
  }
  let envelope: unknown = data;
  if (typeof data === "string" || data instanceof Uint8Array) {
    if (data.length > MAX_BUNDLE_SIZE) throw bad("invalid_bundle", "the trust bundle is too large");
    try {
      envelope = JSON.parse(typeof data === "string" ? data : new TextDecoder("utf-8", { fatal: true }).decode(data));
    } catch {
      throw bad("invalid_bundle", "the trust bundle is not JSON");
    }
  }
  const keys = isObject(envelope) ? Object.keys(envelope).sort().join(",") : "";
  if (!isObject(envelope) || keys !== "bundle,signature,signer") {
    throw bad("invalid_bundle", "not a trust bundle: expected bundle, signature and signer");
  }
  const body = envelope.bundle;
  if (!isObject(body) || body.version !== 1) throw bad("invalid_bundle", "unsupported trust bundle version");
  const signature = typeof envelope.signature === "string" ? fromBase64Lenient(envelope.signature) : null;
  if (signature === null) throw bad("invalid_bundle", "the bundle signature is not base64");
  let message: Uint8Array;
  try {
    message = concat(utf8(TRUST_CONTEXT), new Uint8Array([0]), utf8(canonicalJson(body)));
  } catch {
    throw bad("invalid_bundle", "the trust bundle holds values that cannot be canonicalized");
  }
  const signerId = await keyIdOf(logKey.publicKey);
  if (envelope.signer !== signerId || !(await verifyEd25519(logKey.publicKey, signature, message))) {
    throw bad(
      "bundle_signature",
      "the trust bundle is not signed by the pinned log key (tampered with, or from another operator)",
    );
  }
  if (body.origin !== logKey.name) {
    throw bad("bundle_origin", `the bundle is for log ${JSON.stringify(body.origin)}, not ${JSON.stringify(logKey.name)}`);
  }
  const created = body.created;
  if (typeof created !== "number" || !Number.isSafeInteger(created)) {
    throw bad("invalid_bundle", "the bundle has no creation time");
  }
  const now = options.now ?? Date.now();
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
  const age = now - created;
  if (age < -MAX_CLOCK_SKEW_MS) throw bad("bundle_from_future", "the trust bundle is dated in the future: check the clock");
  if (age > maxAgeMs) {
    throw bad(
      "bundle_too_old",
      `the trust bundle is ${Math.floor(age / 3_600_000)} hours old, older than the ` +
        `${Math.floor(maxAgeMs / 3_600_000)} hours allowed: fetch a new one`,
    );
  }
  let checkpoint: Checkpoint;
  try {
    checkpoint = await openCheckpoint(String(body.checkpoint ?? ""), logKey);
  } catch (error) {
    throw bad("bundle_checkpoint", `the bundle's checkpoint does not verify: ${(error as Error).message}`);
  }
  return index(body, created, checkpoint);
}

async function index(
  body: Record<string, unknown>,
  created: number,
  checkpoint: Checkpoint,
): Promise<TrustBundle> {
  const prefixes = new Map<string, { actorId: string; name: string }>();
  const hints = new Map<number, BundleKey[]>();
  const malformed = () => bad("invalid_bundle", "the trust bundle's actor list is malformed");
  if (!Array.isArray(body.actors) || !Array.isArray(body.resolvers)) throw malformed();
  for (const actor of body.actors as unknown[]) {
    if (!isObject(actor) || !Array.isArray(actor.prefixes) || !Array.isArray(actor.keys)) throw malformed();
    const owner = { actorId: String(actor.actor_id), name: String(actor.name) };
    for (const prefix of actor.prefixes as unknown[]) prefixes.set(String(prefix), owner);
    for (const entry of actor.keys as unknown[]) {
      if (!isObject(entry)) throw malformed();
      const publicKey = parsePublicKeyText(entry.key);
      const effectiveTime = Number(entry.effective_time);
      const compromisedSince = Number(entry.compromised_since);
      if (publicKey === null || !Number.isInteger(effectiveTime) || !Number.isInteger(compromisedSince)) {
        throw malformed();
      }
      const keyId = await keyIdOf(publicKey);
      const hint = parseInt(keyId.slice(0, 2), 16);
      const list = hints.get(hint) ?? [];
      list.push({ publicKey, keyId, actorId: owner.actorId, effectiveTime, compromisedSince });
      hints.set(hint, list);
    }
  }
  const resolvers = (body.resolvers as unknown[]).map((r) => String(r).replace(/\/+$/, ""));
  const lowered = new Set(resolvers.map((r) => r.toLowerCase()));
  return {
    origin: String(body.origin),
    created,
    resolvers,
    checkpoint,
    body,
    producerOf(gtin: string) {
      for (let k = 4; k <= 12; k++) {
        const owner = prefixes.get(gtin.slice(1, 1 + k));
        if (owner !== undefined) return owner;
      }
      return null;
    },
    keysWithHint(hint: number) {
      return hints.get(hint) ?? [];
    },
    isResolver(stem: string) {
      return lowered.has(stem.replace(/\/+$/, "").toLowerCase());
    },
  };
}
