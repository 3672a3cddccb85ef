// The voter's private credential: checked for typos, then turned into the
// signing secret s exactly as belenios-tool does. The credential stays in
// this page's memory; only g^s (the public credential) ends up in a ballot.

import { bytesToBigInt } from "./group.js";

export const BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/** Accepts "XXX-XXX-XXX-XXX-XXX" or the 15 digits; the last one is a checksum
 * (53 - n mod 53), so most typing mistakes are caught before any maths. */
export function credentialIsValid(text) {
  let raw = text;
  if (raw.length === 19 && [3, 7, 11, 15].every((i) => raw[i] === "-")) raw = raw.replaceAll("-", "");
  if (raw.length !== 15) return false;
  let n = 0n;
  for (const c of raw.slice(0, 14)) {
    const d = BASE58.indexOf(c);
    if (d < 0) return false;
    n = 58n * n + BigInt(d);
  }
  const check = BASE58.indexOf(raw[14]);
  return check >= 0 && (n + BigInt(check)) % 53n === 0n;
}

/** s = PBKDF2-HMAC-SHA256(credential as typed, salt = election uuid, 1000, 32 B) mod q. */
export async function deriveSecret(group, uuid, credential) {
  if (!credentialIsValid(credential)) throw new Error("invalid credential");
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", encoder.encode(credential), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: encoder.encode(uuid), iterations: 1000 },
    key,
    256,
  );
  return bytesToBigInt(new Uint8Array(bits)) % group.q;
}
