/** What one upload to the transcription server may hold: bytes (25 MB at OpenAI) and seconds (1,400 for its gpt-4o models). */
export interface AudioLimits {
  maxBytes: number;
  maxSeconds: number;
}

/**
 * Audio longer than a transcription server takes in one upload, cut into files it can read on their
 * own: WAV by its samples (each part with its own header), Ogg (Opus, Vorbis: voice notes) by pages,
 * each part beginning with the stream's header pages and its pages renumbered, their positions made
 * to start at zero, so each part is a whole Ogg file of its own length. Other containers cannot be
 * cut without decoding them: null when they are too large, and the caller says the audio is too
 * long (their length in seconds is not known here; the server says when it is too long).
 */
export function splitAudio(data: Uint8Array, limits: AudioLimits): Uint8Array[] | null {
  if (isWav(data)) return splitWav(data, limits);
  if (isOgg(data)) return splitOgg(data, limits);
  return data.byteLength <= limits.maxBytes ? [data] : null;
}

const ascii = (d: Uint8Array, at: number, n: number) => String.fromCharCode(...d.subarray(at, at + n));
export const isWav = (d: Uint8Array) => d.byteLength >= 12 && ascii(d, 0, 4) === "RIFF" && ascii(d, 8, 4) === "WAVE";
export const isOgg = (d: Uint8Array) => d.byteLength >= 4 && ascii(d, 0, 4) === "OggS";

function splitWav(d: Uint8Array, { maxBytes, maxSeconds }: AudioLimits): Uint8Array[] | null {
  const view = new DataView(d.buffer, d.byteOffset, d.byteLength);
  let fmt: Uint8Array | null = null;
  let blockAlign = 0;
  let byteRate = 0;
  for (let at = 12; at + 8 <= d.byteLength; ) {
    const id = ascii(d, at, 4);
    const size = view.getUint32(at + 4, true);
    if (id === "fmt ") {
      fmt = d.subarray(at, at + 8 + size);
      blockAlign = view.getUint16(at + 8 + 12, true);
      byteRate = view.getUint32(at + 8 + 8, true);
    }
    if (id === "data") {
      if (!fmt || blockAlign < 1) return null;
      // A streaming writer (espeak-ng to a pipe) leaves the size unset: the data runs to the end.
      const end = size === 0 || size === 0xffffffff ? d.byteLength : Math.min(d.byteLength, at + 8 + size);
      const samples = d.subarray(at + 8, end);
      const header = 12 + fmt.byteLength + 8;
      const bySize = Math.floor((maxBytes - header) / blockAlign) * blockAlign;
      const byTime = byteRate > 0 ? Math.floor((maxSeconds * byteRate) / blockAlign) * blockAlign : bySize;
      const per = Math.min(bySize, byTime);
      if (per < blockAlign) return null;
      if (samples.byteLength <= per && d.byteLength <= maxBytes) return [d];
      const parts: Uint8Array[] = [];
      for (let i = 0; i < samples.byteLength; i += per) parts.push(wavFile(fmt, samples.subarray(i, i + per)));
      return parts;
    }
    at += 8 + size + (size % 2);
  }
  return null;
}

function wavFile(fmt: Uint8Array, samples: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + fmt.byteLength + 8 + samples.byteLength);
  const view = new DataView(out.buffer);
  const put = (at: number, s: string) => {
    for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
  };
  put(0, "RIFF");
  view.setUint32(4, out.byteLength - 8, true);
  put(8, "WAVE");
  out.set(fmt, 12);
  put(12 + fmt.byteLength, "data");
  view.setUint32(12 + fmt.byteLength + 4, samples.byteLength, true);
  out.set(samples, 12 + fmt.byteLength + 8);
  return out;
}

interface OggPage {
  bytes: Uint8Array;
  granule: bigint;
}

/** The pages of an Ogg stream; null when the bytes are not a sequence of whole pages. */
function oggPages(d: Uint8Array): OggPage[] | null {
  const view = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const pages: OggPage[] = [];
  for (let at = 0; at < d.byteLength; ) {
    if (at + 27 > d.byteLength || ascii(d, at, 4) !== "OggS") return null;
    const segments = d[at + 26] as number;
    if (at + 27 + segments > d.byteLength) return null;
    let body = 0;
    for (let i = 0; i < segments; i++) body += d[at + 27 + i] as number;
    const size = 27 + segments + body;
    if (at + size > d.byteLength) return null;
    pages.push({ bytes: d.subarray(at, at + size), granule: view.getBigInt64(at + 6, true) });
    at += size;
  }
  return pages;
}

/** Samples per second of the stream's positions: Opus counts at 48 kHz, Vorbis at its own rate; null for another codec. */
function oggRate(first: Uint8Array): number | null {
  const body = first.subarray(27 + (first[26] as number));
  if (ascii(body, 0, 8) === "OpusHead") return 48_000;
  if (body[0] === 1 && ascii(body, 1, 6) === "vorbis" && body.byteLength >= 16)
    return new DataView(body.buffer, body.byteOffset + 12, 4).getUint32(0, true) || null;
  return null;
}

function splitOgg(d: Uint8Array, { maxBytes, maxSeconds }: AudioLimits): Uint8Array[] | null {
  const pages = oggPages(d);
  if (!pages?.length) return null;
  // The header pages (identification, comments) carry granule position 0; every part repeats them.
  let h = 0;
  while (h < pages.length && pages[h]?.granule === 0n) h++;
  const headers = pages.slice(0, h);
  const audio = pages.slice(h);
  const rate = oggRate((pages[0] as OggPage).bytes);
  const maxSamples = rate ? BigInt(Math.floor(maxSeconds * rate)) : null;
  const last = audio.findLast((p) => p.granule >= 0n)?.granule ?? 0n;
  if (d.byteLength <= maxBytes && (maxSamples === null || last <= maxSamples)) return [d];
  const headerBytes = headers.reduce((n, p) => n + p.bytes.byteLength, 0);
  const parts: Uint8Array[] = [];
  let current: OggPage[] = [];
  let size = headerBytes;
  let base = 0n; // the position the current part starts from: where the one before it ended
  let reached = 0n;
  for (const page of audio) {
    if (headerBytes + page.bytes.byteLength > maxBytes) return null;
    // -1: no packet ends on this page; it holds the position where the page before it ended.
    const at = page.granule >= 0n ? page.granule : reached;
    const tooLong = maxSamples !== null && at - base > maxSamples;
    if (current.length && (size + page.bytes.byteLength > maxBytes || tooLong)) {
      parts.push(oggFile(headers, current, base));
      base = reached;
      current = [];
      size = headerBytes;
    }
    current.push(page);
    size += page.bytes.byteLength;
    reached = at;
  }
  if (current.length) parts.push(oggFile(headers, current, base));
  return parts;
}

/** One part as an Ogg file: the header pages, then its pages renumbered and moved back by `base`, the last marked the stream's end. */
function oggFile(headers: OggPage[], pages: OggPage[], base: bigint): Uint8Array {
  const out = concat([...headers, ...pages].map((p) => p.bytes));
  const view = new DataView(out.buffer);
  let at = headers.reduce((n, p) => n + p.bytes.byteLength, 0);
  for (const [i, page] of pages.entries()) {
    if (page.granule >= 0n) view.setBigInt64(at + 6, page.granule - base, true);
    view.setUint32(at + 18, headers.length + i, true);
    if (i === pages.length - 1) out[at + 5] = (out[at + 5] as number) | 0x04;
    else out[at + 5] = (out[at + 5] as number) & ~0x04;
    view.setUint32(at + 22, 0, true);
    view.setUint32(at + 22, oggCrc(out.subarray(at, at + page.bytes.byteLength)), true);
    at += page.bytes.byteLength;
  }
  return out;
}

/** Ogg's page checksum: CRC-32 with polynomial 0x04c11db7, not reflected, over the page with its checksum field zero. */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();

export function oggCrc(page: Uint8Array): number {
  let crc = 0;
  for (const b of page) crc = ((crc << 8) ^ (CRC_TABLE[((crc >>> 24) ^ b) & 0xff] as number)) >>> 0;
  return crc;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
