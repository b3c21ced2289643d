/**
 * Offline code verification: a code's producer signature and key checked against a trust
 * bundle, with the verdicts of the Python core (ledger/codes.py ``check_code``), never an
 * exception for a bad code:
 *
 *     unverified   signature_valid (+ key_retired, unknown_resolver when they apply)
 *     invalid      malformed_code, unsigned_code   (a typo or a bad scan, never a fake)
 *     counterfeit  unknown_producer, unknown_key, signature_invalid, not_producer_key,
 *                  key_compromised
 *
 * "unverified" is the best an offline check can say: the signature is the producer's, but the
 * item's custody, recalls and clone signals are known only to the ledger (``client.verify``).
 */

import { MalformedCode, codeMessage, parseCode, type ItemCode } from "./code.js";
import { verifyEd25519 } from "./ed25519.js";
import type { BundleKey, TrustBundle } from "./trust.js";

export interface OfflineReason {
  code: string;
  message: string;
  evidence: Record<string, unknown>;
}

export interface OfflineVerdict {
  status: "unverified" | "invalid" | "counterfeit";
  reasons: OfflineReason[];
  /** gtin, serial, item_id, lot, expiry, producer, producer_name (as far as known). */
  item: Record<string, string>;
  /** What was checked, in a sentence to show: "signed by Fishco; not checked against the ledger". */
  checked: string;
  /** The key that made the signature, when it verified. */
  signer: { keyId: string; actorId: string } | null;
}

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/** Percent-encode all but ``A-Za-z0-9-._~`` (UTF-8, upper-case hex), as ledger.gs1. */
function uriEscape(value: string): string {
  let out = "";
  for (const char of value) {
    if (UNRESERVED.test(char)) out += char;
    else for (const byte of new TextEncoder().encode(char)) out += "%" + byte.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

function verdict(
  status: OfflineVerdict["status"],
  code: string,
  message: string,
  item: Record<string, string>,
  evidence: Record<string, unknown> = {},
): OfflineVerdict {
  const checked =
    status === "invalid"
      ? "not read as a Tracemark code: nothing was checked"
      : `refused offline: ${message}`;
  return { status, reasons: [{ code, message, evidence }], item, checked, signer: null };
}

/** Check a code (the scanned URI) against a verified trust bundle (``openTrustBundle``). */
export async function verifyCode(code: string, bundle: TrustBundle): Promise<OfflineVerdict> {
  let parsed: ItemCode;
  try {
    parsed = parseCode(code);
  } catch (error) {
    if (!(error instanceof MalformedCode)) throw error;
    return verdict("invalid", "malformed_code", `not a Tracemark item code: ${error.message}`, {});
  }
  const { identity } = parsed;
  const item: Record<string, string> = {
    gtin: identity.gtin,
    serial: identity.serial,
    item_id: `01/${identity.gtin}/21/${uriEscape(identity.serial)}`,
  };
  if (identity.lot) item.lot = identity.lot;
  if (identity.expiry) item.expiry = identity.expiry;
  const producer = bundle.producerOf(identity.gtin);
  if (producer === null) {
    return verdict("counterfeit", "unknown_producer", `GTIN ${identity.gtin} belongs to no registered producer`, item);
  }
  item.producer = producer.actorId;
  item.producer_name = producer.name;
  if (parsed.signature === null || parsed.keyHint === null) {
    return verdict(
      "invalid",
      "unsigned_code",
      "the code carries no producer signature (AI 8030): scan it again or type it in full",
      item,
    );
  }
  const message = codeMessage(identity);
  const candidates = bundle.keysWithHint(parsed.keyHint);
  let signer: BundleKey | undefined;
  for (const key of candidates) {
    if (await verifyEd25519(key.publicKey, parsed.signature, message)) {
      signer = key;
      break;
    }
  }
  if (signer === undefined) {
    if (candidates.some((k) => k.actorId === producer.actorId)) {
      return verdict(
        "counterfeit",
        "signature_invalid",
        "the signature does not match this item: the code was altered or copied from another item",
        item,
      );
    }
    return verdict("counterfeit", "unknown_key", `the code is not signed by any key of ${producer.name}`, item);
  }
  const evidence = { key_id: signer.keyId, signer: signer.actorId };
  if (signer.actorId !== producer.actorId) {
    return verdict(
      "counterfeit",
      "not_producer_key",
      `signed by ${signer.actorId}, not by the GTIN's producer ${producer.actorId}`,
      item,
      evidence,
    );
  }
  if (signer.compromisedSince >= 0) {
    return verdict(
      "counterfeit",
      "key_compromised",
      "the producer reported the signing key compromised; codes it signed cannot be trusted offline",
      item,
      { compromised_since: signer.compromisedSince, ...evidence },
    );
  }
  const reasons: OfflineReason[] = [
    {
      code: "signature_valid",
      message: `signed by ${producer.name}; the item's state is not known offline`,
      evidence,
    },
  ];
  if (signer.effectiveTime >= 0) {
    reasons.push({
      code: "key_retired",
      message: "the signing key has since been retired; codes issued before remain valid",
      evidence: { effective_time: signer.effectiveTime },
    });
  }
  if (!bundle.isResolver(parsed.resolver)) {
    reasons.push({
      code: "unknown_resolver",
      message: `the code points to ${parsed.resolver}, not the operator's resolver: it may be a copy on another site`,
      evidence: { resolver: parsed.resolver },
    });
  }
  return {
    status: "unverified",
    reasons,
    item,
    checked: `signed by ${producer.name}; not checked against the ledger`,
    signer: { keyId: signer.keyId, actorId: signer.actorId },
  };
}
