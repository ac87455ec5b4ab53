import { randomFillSync } from "node:crypto";

const bytes = new Uint8Array(16);
// Random bytes are drawn 4 KiB at a time: one syscall per 256 ids instead of one per id.
const pool = new Uint8Array(4096);
let poolAt = pool.length;
let last = 0;
let seq = 0;

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. Ids made close in time sort
 * together, so the rows of runs that are active at the same moment share B-tree pages (SQLite and
 * Postgres both write fewer pages per commit than with random v4 ids). Within one millisecond a
 * 12-bit counter keeps them ordered.
 */
export function uuidv7(now = Date.now()): string {
  if (poolAt + 16 > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  bytes.set(pool.subarray(poolAt, (poolAt += 16)));
  if (now <= last) {
    now = last;
    seq = (seq + 1) & 0xfff;
    if (seq === 0) now = ++last;
  } else {
    last = now;
    seq = bytes[6]! & 0x3ff;
  }
  bytes[0] = now / 2 ** 40;
  bytes[1] = now / 2 ** 32;
  bytes[2] = now / 2 ** 24;
  bytes[3] = now / 2 ** 16;
  bytes[4] = now / 2 ** 8;
  bytes[5] = now;
  bytes[6] = 0x70 | (seq >> 8);
  bytes[7] = seq & 0xff;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const h = Buffer.from(bytes).toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
