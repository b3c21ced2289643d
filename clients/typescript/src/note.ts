/**
 * C2SP signed notes and tlog checkpoints, as far as a verifier needs them: the log's verifier
 * key (``<name>+<8 hex key id>+base64(0x01 || key)``), a note's Ed25519 signature by that key,
 * and the checkpoint body (origin, tree size, root hash). Python: ledger/note.py and
 * ledger/checkpoint.py; spec: https://c2sp.org/signed-note, https://c2sp.org/tlog-checkpoint.
 */

import { concat, fromBase64, sha256, toHex, utf8 } from "./bytes.js";
import { verifyEd25519 } from "./ed25519.js";

const ED25519_TYPE = 0x01;
const SIG_PREFIX = "\u2014 ";
const MAX_NOTE_SIZE = 1 << 20;
const MAX_SIGNATURES = 100;

/** The log's pinned verifier key, parsed. */
export interface LogKey {
  name: string;
  keyId: Uint8Array;
  publicKey: Uint8Array;
}

/** A checkpoint whose log signature verified. */
export interface Checkpoint {
  origin: string;
  treeSize: bigint;
  rootHash: Uint8Array;
  /** The whole signed note, as served. */
  note: string;
}

function nameProblem(name: string): string | null {
  if (!name) return "is empty";
  if (name.includes("+")) return "contains '+'";
  if (/[\s\x00-\x1f\x7f]/u.test(name)) return "contains whitespace or a control character";
  return null;
}

async function noteKeyId(name: string, publicKey: Uint8Array): Promise<Uint8Array> {
  const digest = await sha256(concat(utf8(name), utf8("\n"), new Uint8Array([ED25519_TYPE]), publicKey));
  return digest.subarray(0, 4);
}

/** Parse and check a verifier key (``origin+hash+base64``); throws ``Error`` saying why. */
export async function parseLogKey(vkey: string): Promise<LogKey> {
  if (typeof vkey !== "string") throw new Error("a verifier key must be a string");
  const first = vkey.indexOf("+");
  const second = first < 0 ? -1 : vkey.indexOf("+", first + 1);
  if (first < 0 || second < 0) throw new Error("a verifier key must look like '<name>+<key id>+<base64 key>'");
  const name = vkey.slice(0, first);
  const idHex = vkey.slice(first + 1, second);
  const problem = nameProblem(name);
  if (problem !== null) throw new Error(`verifier key name ${JSON.stringify(name)} ${problem}`);
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw new Error("verifier key id must be 8 lowercase hex digits");
  const material = fromBase64(vkey.slice(second + 1));
  if (material === null) throw new Error("verifier key is not canonical base64");
  if (material[0] !== ED25519_TYPE || material.length !== 33) {
    throw new Error("verifier key is not an Ed25519 (type 0x01) key of 32 bytes");
  }
  const publicKey = material.subarray(1);
  const keyId = await noteKeyId(name, publicKey);
  if (toHex(keyId) !== idHex) throw new Error(`verifier key ${name}+${idHex}: key id does not match the key`);
  return { name, keyId, publicKey };
}

/** The text of a note that ``key`` signed; throws when it is malformed or not so signed. */
export async function openNote(note: string, key: LogKey): Promise<string> {
  if (typeof note !== "string") throw new Error("a note must be text");
  if (utf8(note).length > MAX_NOTE_SIZE) throw new Error("the note is too large");
  if (/[\x00-\x09\x0b-\x1f]/.test(note)) throw new Error("the note contains a control character");
  if (!note.endsWith("\n")) throw new Error("the note must end with a newline");
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw new Error("the note has no blank line before its signatures");
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (!block) throw new Error("the note has no signature lines");
  const lines = block.slice(0, -1).split("\n");
  if (lines.length > MAX_SIGNATURES) throw new Error("the note has too many signature lines");
  const message = utf8(text);
  let verified = false;
  for (const [i, line] of lines.entries()) {
    if (!line.startsWith(SIG_PREFIX)) throw new Error(`signature line ${i + 1} does not start with an em dash`);
    const body = line.slice(SIG_PREFIX.length);
    const space = body.indexOf(" ");
    const name = space < 0 ? body : body.slice(0, space);
    const encoded = space < 0 ? "" : body.slice(space + 1);
    if (nameProblem(name) !== null || !encoded) throw new Error(`signature line ${i + 1} is malformed`);
    const raw = fromBase64(encoded);
    if (raw === null || raw.length <= 4) throw new Error(`signature line ${i + 1}: bad signature`);
    if (name !== key.name || toHex(raw.subarray(0, 4)) !== toHex(key.keyId)) continue; // another key
    if (!(await verifyEd25519(key.publicKey, raw.subarray(4), message))) {
      throw new Error(`signature line ${i + 1}: the log's signature does not verify`);
    }
    verified = true;
  }
  if (!verified) throw new Error("the note has no valid signature from the log key");
  return text;
}

/** Verify the log's signature on a checkpoint and parse it. */
export async function openCheckpoint(note: string, key: LogKey): Promise<Checkpoint> {
  const text = await openNote(note, key);
  const lines = text.slice(0, -1).split("\n");
  const [origin, size, root] = lines;
  if (origin === undefined || size === undefined || root === undefined) {
    throw new Error("a checkpoint has an origin, a tree size and a root hash");
  }
  if (origin !== key.name) throw new Error(`the checkpoint is for log ${JSON.stringify(origin)}, not ${JSON.stringify(key.name)}`);
  if (!/^(0|[1-9][0-9]{0,19})$/.test(size) || BigInt(size) > 2n ** 64n - 1n) {
    throw new Error("the checkpoint's tree size is not a decimal number");
  }
  const rootHash = fromBase64(root);
  if (rootHash === null || rootHash.length !== 32) throw new Error("the checkpoint's root hash is not 32 bytes of base64");
  if (lines.slice(3).some((l) => !l)) throw new Error("the checkpoint has an empty extension line");
  return { origin, treeSize: BigInt(size), rootHash, note };
}
