/**
 * RFC 8785 (JCS) canonical JSON for the values a trust bundle holds: objects, arrays,
 * strings, integers, booleans and null. ECMAScript's own JSON.stringify is what RFC 8785
 * prescribes for strings and numbers; keys are sorted by UTF-16 code units (JS's default
 * string order). Python: ledger/canonical.py.
 */

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") {
    return JSON.stringify(value);
  }
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) {
      throw new Error(`number ${value} is outside the interoperable integer range`);
    }
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object") {
    const entries = Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(",")}}`;
  }
  throw new Error(`a ${typeof value} cannot be written as JSON`);
}
