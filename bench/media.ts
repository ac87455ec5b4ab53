/**
 * Media benchmark (issue 21): what reading a voice note or a PDF adds before the turn's first model
 * call. One JSON object per line on stdout, progress on stderr.
 *
 *     node bench/media.ts [--quick]
 *
 * agentd on SQLite in a temporary folder, the audio stand-in (packages/agentd/test/support/
 * audio-server.ts) in this process for transcription; real speech from espeak-ng, a real PDF from
 * pdf-lib.
 *
 *  - voice_note_added_ms: a voice note of 10 seconds or a little more (Ogg/Opus; `seconds` is its
 *    measured length) kept and transcribed as the inbound stage
 *    does it (blob stored, hash, cache looked up, multipart upload, transcript kept, memory written),
 *    less the stand-in's own time (request received to answer sent): what agentd adds beyond the
 *    transcription model's own time, p50/p99; and a redelivery's (the transcript found by hash).
 *  - pdf_20_pages: reading a 20-page PDF (unpdf) p50/p99, and the bytes its text adds to the model
 *    request (fenced, as sent), against the PDF's own bytes (sent base64 when AGENTD_MODEL_PDFS=1).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { withNotes } from "../packages/agentd/src/agent/prompt.ts";
import { createAgentd } from "../packages/agentd/src/app.ts";
import { readDocument } from "../packages/agentd/src/media/documents.ts";
import { opus, speak, startAudioServer } from "../packages/agentd/test/support/audio-server.ts";
import { makePdf } from "../packages/agentd/test/media/files.ts";

const { values: argv } = parseArgs({ options: { quick: { type: "boolean", default: false } } });
const N = argv.quick ? 10 : 40;
const log = (s: string) => process.stderr.write(`${s}\n`);
const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round((s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number) * 100) / 100;
};

/** An Ogg/Opus file's length in seconds: its last page's position (48 kHz samples), less the pre-skip its header names. */
const oggSeconds = (ogg: Buffer) => {
  const last = ogg.lastIndexOf("OggS");
  const head = ogg.indexOf("OpusHead");
  return Number(ogg.readBigInt64LE(last + 6) - BigInt(ogg.readUInt16LE(head + 10))) / 48_000;
};

const dir = mkdtempSync(join(tmpdir(), "agentd-bench-media-"));
const audio = await startAudioServer();
const app = await createAgentd({
  env: {},
  config: {
    dataDir: dir,
    adminToken: "bench-admin-token-0123456789",
    model: { id: "echo" },
    media: {
      transcription: { model: "whisper-stand-in", baseURL: audio.url, apiKey: audio.apiKey },
      transcriptionMaxBytes: 25_000_000,
      transcriptionMaxSeconds: 1200,
      speech: null,
      documentMaxPages: 50,
      documentMaxChars: 60_000,
    },
  },
  worker: false,
  logger: () => {},
});
try {
  const tenant = await app.tenants.create("bench");
  const scope = app.tenants.scope(tenant.id);
  const media = app.channelHost.media!;

  // Ten seconds of speech or a little more: the sentence said again until the note is that long.
  const sentence = "This is a voice note of about ten seconds, sent to measure what reading it adds before the answer.";
  let said = sentence;
  let note = await opus(await speak(said));
  while (oggSeconds(note) < 10) {
    said = `${said} ${sentence}`;
    note = await opus(await speak(said));
  }
  const seconds = Math.round(oggSeconds(note) * 10) / 10;
  log(`voice note: ${seconds} s, ${note.byteLength} bytes`);
  const added: number[] = [];
  const cached: number[] = [];
  for (let i = 0; i < N; i++) {
    // A byte of the last page changed: new audio to the hash, the same to the stand-in.
    const data = Buffer.from(note);
    data[data.byteLength - 1] = i % 256;
    data[data.byteLength - 2] = Math.floor(i / 256);
    const t0 = performance.now();
    const a = await app.blobs.put(tenant.id, data, { mime: "audio/ogg", name: "voice-note.ogg", source: `bench:${i}` });
    await media.read(scope, a, (await app.blobs.get(tenant.id, a.id))!.data);
    const total = performance.now() - t0;
    // Less the stand-in's own time (first byte received to answer): a real model's time would be there.
    added.push(total - (audio.uploads.at(-1)?.ms ?? 0));
    const t1 = performance.now();
    await media.read(scope, a, data);
    cached.push(performance.now() - t1);
  }
  out({
    bench: "media",
    metric: "voice_note_added_ms",
    seconds,
    bytes: note.byteLength,
    p50: pct(added, 50),
    p99: pct(added, 99),
    redelivery_p50: pct(cached, 50),
    uploads: audio.uploads.length,
    n: N,
  });

  const line = "Quarterly report: revenue, costs and the outlook for the next quarter, line by line.";
  const pdf = await makePdf(
    Array.from({ length: 20 }, (_, p) => Array.from({ length: 40 }, (_, l) => `${p + 1}.${l + 1} ${line}`)),
  );
  const read: number[] = [];
  let sent = 0;
  let cut: string | null = null;
  for (let i = 0; i < Math.max(5, N / 4); i++) {
    const a = await app.blobs.put(tenant.id, pdf, {
      mime: "application/pdf",
      name: "report.pdf",
      source: `bench:pdf:${i}`,
    });
    const t0 = performance.now();
    const text = await media.read(scope, a, pdf);
    read.push(performance.now() - t0);
    sent = Buffer.byteLength(withNotes("", [{ ...a, ...(text ? { text } : {}) }]), "utf8");
    cut = text?.cut ?? null;
  }
  // The whole text, no character limit: what the model would get were AGENTD_DOCUMENT_MAX_CHARS raised.
  const whole = await readDocument(pdf, "application/pdf", "report.pdf", { maxPages: 50, maxChars: 10_000_000 });
  out({
    bench: "media",
    metric: "pdf_20_pages",
    pdf_bytes: pdf.byteLength,
    read_p50_ms: pct(read, 50),
    read_p99_ms: pct(read, 99),
    bytes_to_model_as_text: sent,
    // What AGENTD_DOCUMENT_MAX_PAGES / _MAX_CHARS left out (null: the whole text went).
    cut,
    whole_text_bytes: Buffer.byteLength(whole?.text ?? "", "utf8"),
    bytes_to_model_as_file_base64: Math.ceil(pdf.byteLength / 3) * 4,
    n: read.length,
  });
} finally {
  await app.close();
  await audio.close();
  rmSync(dir, { recursive: true, force: true });
}
