import { randomInt } from "node:crypto";

/** Forms up to this long are matched whole; longer ones as tiles of this width. */
const TILE = 32;
const PRIME = 2_147_483_647; // 2^31 - 1: products below stay exact in a double
/** Random per matcher, so no one can choose values whose tiles collide and slow the matching down. */
const randomBase = () => randomInt(1 << 16, 1 << 20);

/**
 * Finds where any of many strings (a tenant's secret values in all their encodings) occur in a
 * text, in time linear in the text whatever the number and size of the strings: no regular
 * expression is built from them (one from a 20 KB value made V8 throw an error quoting every
 * value). Strings up to 32 characters are matched whole; a longer one is cut into 32-character
 * tiles (the last aligned to its end) and each tile is matched, so a whole occurrence is covered by
 * its tiles and a part of one (a head, a middle) is found too once it holds a tile. One rolling hash
 * pass per distinct length (at most 29), each hit checked by comparing the characters.
 */
export class SecretMatcher {
  /** The length of the longest string: a text cut anywhere hides at most this much minus one of one. */
  readonly longest: number;
  readonly empty: boolean;
  readonly #byLength = new Map<number, Map<number, string[]>>();
  readonly #base = randomBase();

  constructor(strings: readonly string[]) {
    let longest = 0;
    const pieces = new Set<string>();
    for (const s of strings) {
      longest = Math.max(longest, s.length);
      if (s.length <= TILE) pieces.add(s);
      else {
        for (let i = 0; i + TILE < s.length; i += TILE) pieces.add(s.slice(i, i + TILE));
        pieces.add(s.slice(s.length - TILE));
      }
    }
    for (const p of pieces) {
      if (p.length === 0) continue;
      let table = this.#byLength.get(p.length);
      if (!table) this.#byLength.set(p.length, (table = new Map()));
      const h = this.#hash(p);
      const same = table.get(h);
      if (same) same.push(p);
      else table.set(h, [p]);
    }
    this.longest = longest;
    this.empty = this.#byLength.size === 0;
  }

  /** For each character of `text`, 1 if it lies inside an occurrence of a string (or tile), else 0. */
  cover(text: string): Uint8Array {
    const n = text.length;
    const depth = new Int32Array(n + 1);
    const B = this.#base;
    for (const [len, table] of this.#byLength) {
      if (len > n) continue;
      let drop = 1; // B^(len-1) mod PRIME: the weight of the character leaving the window
      for (let i = 1; i < len; i++) drop = (drop * B) % PRIME;
      let h = 0;
      for (let i = 0; i < n; i++) {
        if (i >= len) h = (h - ((text.charCodeAt(i - len) * drop) % PRIME) + PRIME) % PRIME;
        h = (h * B + text.charCodeAt(i)) % PRIME;
        if (i < len - 1) continue;
        const hits = table.get(h);
        if (!hits) continue;
        const start = i - len + 1;
        for (const p of hits)
          if (text.startsWith(p, start)) {
            depth[start]! += 1;
            depth[i + 1]! -= 1;
            break;
          }
      }
    }
    const covered = new Uint8Array(n);
    for (let i = 0, d = 0; i < n; i++) {
      d += depth[i] as number;
      covered[i] = d > 0 ? 1 : 0;
    }
    return covered;
  }

  #hash(s: string): number {
    let h = 0;
    for (let i = 0; i < s.length; i++) h = (h * this.#base + s.charCodeAt(i)) % PRIME;
    return h;
  }
}
