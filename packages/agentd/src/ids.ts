import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lower case: no i, l, o, u

/** A readable random id with a prefix naming its kind, e.g. `ses_4k9x…`: 80 random bits, time-ordered by its first 8 characters. */
export function newId(prefix: string, now = Date.now()): string {
  let t = "";
  for (let v = Math.floor(now / 1000), i = 0; i < 7; i++, v = Math.floor(v / 32)) t = (ALPHABET[v % 32] as string) + t;
  return `${prefix}_${t}${randomCode(13)}`;
}

/** Random characters from the unambiguous base32 alphabet (for pairing codes and approval codes). */
export function randomCode(length: number): string {
  const bytes = randomBytes(length);
  let s = "";
  for (const b of bytes) s += ALPHABET[b % 32];
  return s;
}
