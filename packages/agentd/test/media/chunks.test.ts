/**
 * Long audio in parts a transcription server takes: within its bytes (25 MB at OpenAI) and its
 * seconds (1,400 for OpenAI's gpt-4o models). Each part is checked as a whole file of its own: Ogg
 * pages with valid checksums, numbered from zero, positions from zero, the last one ending the
 * stream, and decoded by opus-tools' opusdec to audio of the part's own length.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { isOgg, oggCrc, splitAudio } from "../../src/media/chunks.ts";
import { opus, speak } from "../support/audio-server.ts";

const BIG = { maxBytes: 25_000_000, maxSeconds: 1200 };

/** The pages of an Ogg file: flags, position, sequence number, whether the checksum holds, and the bytes that carry audio. */
function pages(b: Uint8Array) {
  const d = Buffer.from(b);
  const out = [];
  for (let at = 0; at < d.length; ) {
    const n = d[at + 26]!;
    let body = 0;
    for (let i = 0; i < n; i++) body += d[at + 27 + i]!;
    const page = Buffer.from(d.subarray(at, at + 27 + n + body));
    const crc = page.readUInt32LE(22);
    page.writeUInt32LE(0, 22);
    out.push({
      flags: d[at + 5]!,
      granule: d.readBigInt64LE(at + 6),
      seq: d.readUInt32LE(at + 18),
      crcOk: oggCrc(page) === crc,
      payload: d.subarray(at + 26, at + 27 + n + body),
    });
    at += page.length;
  }
  return out;
}

/** The samples opusdec decodes from a mono Ogg/Opus file (raw 16-bit PCM at 48 kHz when it writes to a pipe). */
const decodedSamples = (ogg: Uint8Array) =>
  new Promise<number>((resolve, reject) => {
    const p = execFile(
      "opusdec",
      ["--quiet", "--rate", "48000", "-", "-"],
      { encoding: "buffer", maxBuffer: 64 << 20 },
      (e, out) => (e ? reject(e) : resolve((out as Buffer).length / 2)),
    );
    p.stdin?.end(ogg);
  });

test("an Ogg voice note is cut by bytes and by seconds into whole Ogg files, each decoded to its own length", async () => {
  const ogg = await opus(await speak("the quick brown fox jumps over the lazy dog, again and again and again"));
  assert.ok(isOgg(ogg));
  const whole = pages(ogg);
  const headers = whole.filter((p) => p.granule === 0n).length;
  const end = whole.at(-1)!.granule;
  assert.ok(end > 3n * 48_000n, `${Number(end) / 48_000} s`);
  assert.equal(splitAudio(ogg, BIG)?.length, 1, "short and small: as it came");
  assert.equal(splitAudio(ogg, BIG)?.[0], ogg);

  for (const limits of [
    { maxBytes: 7000, maxSeconds: 1200 },
    { maxBytes: 25_000_000, maxSeconds: 2 },
  ]) {
    const parts = splitAudio(ogg, limits)!;
    assert.ok(parts.length >= 2, `${parts.length} parts for ${JSON.stringify(limits)}`);
    let total = 0n;
    const payloads: Buffer[] = [];
    for (const part of parts) {
      assert.ok(part.byteLength <= limits.maxBytes);
      assert.equal(Buffer.from(part.subarray(28, 36)).toString("latin1"), "OpusHead");
      const ps = pages(part);
      assert.ok(
        ps.every((p) => p.crcOk),
        "every checksum holds",
      );
      assert.deepEqual(
        ps.map((p) => p.seq),
        ps.map((_, i) => i),
        "numbered from zero",
      );
      assert.equal(ps.at(-1)!.flags & 4, 4, "the last page ends the stream");
      assert.ok(ps.slice(0, -1).every((p) => (p.flags & 4) === 0));
      const length = ps.at(-1)!.granule;
      assert.ok(length <= BigInt(limits.maxSeconds * 48_000), `${Number(length) / 48_000} s`);
      total += length;
      payloads.push(...ps.slice(headers).map((p) => Buffer.from(p.payload)));
      // A decoder reads it as audio of the part's own length (less Opus's pre-skip).
      const samples = await decodedSamples(part);
      assert.ok(Math.abs(samples - (Number(length) - 312)) < 48, `${samples} samples decoded of ${length}`);
    }
    assert.equal(total, end, "together, the whole length");
    assert.deepEqual(
      Buffer.concat(payloads),
      Buffer.concat(whole.slice(headers).map((p) => Buffer.from(p.payload))),
      "together, every audio page once",
    );
  }
  // A container that cannot be cut: as it came when small enough, else null (the caller says why).
  assert.equal(splitAudio(Buffer.alloc(50_000, 1), { maxBytes: 10_000, maxSeconds: 1200 }), null);
  assert.equal(splitAudio(Buffer.alloc(5_000, 1), { maxBytes: 10_000, maxSeconds: 1200 })?.length, 1);
});

test("a WAV is cut by its samples within the seconds too, each part a WAV of its own", async () => {
  const wav = await speak("one two three four five six seven eight nine ten");
  const byteRate = wav.readUInt32LE(28);
  const parts = splitAudio(wav, { maxBytes: 25_000_000, maxSeconds: 1 })!;
  assert.ok(parts.length >= 3, `${parts.length} parts`);
  for (const p of parts) {
    const b = Buffer.from(p);
    assert.equal(b.subarray(0, 4).toString("latin1"), "RIFF");
    assert.equal(b.readUInt32LE(4), b.length - 8);
    assert.ok(b.readUInt32LE(40) <= byteRate, "at most one second of samples");
  }
  assert.equal(splitAudio(wav, { maxBytes: 25_000_000, maxSeconds: 600 })?.[0], wav, "short: as it came");
});
