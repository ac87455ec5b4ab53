// A local stand-in for OpenAI's audio endpoints (/v1/audio/transcriptions, /v1/audio/speech) on
// 127.0.0.1: the real multipart upload of `@ai-sdk/openai` is parsed and checked as a server would
// (a model, a file part named for its type, bytes that are audio); speech is real audio from
// Debian's espeak-ng, Ogg/Opus through opusenc when asked for "opus".
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";

export interface Upload {
  model: string;
  filename: string;
  type: string;
  bytes: Buffer;
  fields: Record<string, string>;
  /** The stand-in's own time for it, from the request's first byte to its answer (what a model's time would be). */
  ms?: number;
}
export interface SpeechRequest {
  model: string;
  input: string;
  voice: string;
  format: string;
}

export interface AudioServer {
  /** The base URL, ending in /v1. */
  url: string;
  apiKey: string;
  uploads: Upload[];
  speeches: SpeechRequest[];
  /** What the audio with these bytes says (the stand-in does not listen); anything else is "audio of N bytes". */
  knows(audio: Uint8Array, text: string): void;
  /** The next transcription requests answer this status instead. */
  failNext(...statuses: number[]): void;
  /** The next speech requests answer this status instead (counted in `speechFailures`). */
  failNextSpeech(...statuses: number[]): void;
  /** Speech requests answered with a failure. */
  speechFailures: number;
  /** Called with each upload once it is checked, before the answer (a test can SIGKILL its agentd there). */
  onUpload?: (u: Upload) => void | Promise<void>;
  close(): Promise<void>;
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const EXTENSIONS: Record<string, string> = {
  "audio/ogg": "ogg",
  "audio/wav": "wav",
  "audio/mpeg": "mp3",
  "audio/x-wav": "wav",
};

/** The audio kinds a transcription server takes, by their first bytes. */
function audioMagic(b: Buffer): string | null {
  if (b.subarray(0, 4).toString("latin1") === "OggS") return "ogg";
  if (b.subarray(0, 4).toString("latin1") === "RIFF" && b.subarray(8, 12).toString("latin1") === "WAVE") return "wav";
  if (b.subarray(0, 3).toString("latin1") === "ID3" || (b[0] === 0xff && ((b[1] ?? 0) & 0xe0) === 0xe0)) return "mp3";
  return null;
}

export async function startAudioServer(o: { apiKey?: string } = {}): Promise<AudioServer> {
  const apiKey = o.apiKey ?? "audio-test-key";
  const known = new Map<string, string>();
  const failures: number[] = [];
  const speechFailures: number[] = [];
  const s: AudioServer = {
    url: "",
    apiKey,
    uploads: [],
    speeches: [],
    knows: (audio, text) => void known.set(sha(audio), text),
    failNext: (...statuses) => void failures.push(...statuses),
    failNextSpeech: (...statuses) => void speechFailures.push(...statuses),
    speechFailures: 0,
    close: () => new Promise((r) => http.close(() => r())),
  };
  const http = createServer((req, res) => {
    const started = performance.now();
    const send = (status: number, body: unknown, type = "application/json") => {
      res.writeHead(status, { "content-type": type });
      res.end(typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body));
    };
    const refuse = (status: number, message: string) =>
      send(status, { error: { message, type: "invalid_request_error" } });
    void (async () => {
      const raw = await body(req);
      if (req.headers.authorization !== `Bearer ${apiKey}`) return refuse(401, "Incorrect API key provided");
      if (req.method === "POST" && req.url === "/v1/audio/transcriptions") {
        const form = await new Request("http://stand-in/", {
          method: "POST",
          headers: { "content-type": String(req.headers["content-type"]) },
          body: raw,
        })
          .formData()
          .catch(() => null);
        if (!form) return refuse(400, "the body is not multipart/form-data");
        const model = form.get("model");
        const file = form.get("file");
        if (typeof model !== "string" || !model) return refuse(400, "model is required");
        if (!(file instanceof File)) return refuse(400, "file is required (a file part)");
        const bytes = Buffer.from(await file.arrayBuffer());
        const magic = audioMagic(bytes);
        if (!magic) return refuse(400, "Invalid file format: the file is not audio");
        if (!file.type.startsWith("audio/")) return refuse(400, `the file part's type is ${file.type}, not audio`);
        const ext = EXTENSIONS[file.type];
        if (ext && !file.name.endsWith(`.${ext}`))
          return refuse(400, `the file name ${file.name} does not match ${file.type}`);
        const fields: Record<string, string> = {};
        for (const [k, v] of form.entries()) if (typeof v === "string") fields[k] = v;
        const upload: Upload = { model, filename: file.name, type: file.type, bytes, fields };
        s.uploads.push(upload);
        await s.onUpload?.(upload);
        const fail = failures.shift();
        if (fail) return refuse(fail, `failing as told (${fail})`);
        upload.ms = performance.now() - started;
        return send(200, { text: known.get(sha(bytes)) ?? `audio of ${bytes.byteLength} bytes` });
      }
      if (req.method === "POST" && req.url === "/v1/audio/speech") {
        const b = JSON.parse(raw.toString("utf8")) as {
          model?: string;
          input?: string;
          voice?: string;
          response_format?: string;
        };
        if (!b.model || !b.input) return refuse(400, "model and input are required");
        const failSpeech = speechFailures.shift();
        if (failSpeech) {
          s.speechFailures++;
          return refuse(failSpeech, `failing as told (${failSpeech})`);
        }
        const format = b.response_format ?? "mp3";
        s.speeches.push({ model: b.model, input: b.input, voice: b.voice ?? "", format });
        const audio = await speak(b.input, format);
        return send(200, audio, format === "opus" ? "audio/ogg" : "audio/wav");
      }
      refuse(404, `no route ${req.method} ${req.url}`);
    })().catch((e: unknown) => {
      if (!res.headersSent) refuse(500, String(e));
    });
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", () => r()));
  s.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/v1`;
  return s;
}

function body(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

const run = promisify(execFile);

/** `text` spoken by espeak-ng: a WAV, or Ogg/Opus (opusenc) for "opus". */
export async function speak(text: string, format = "wav"): Promise<Buffer> {
  const wav = (await run("espeak-ng", ["--stdout", text], { encoding: "buffer", maxBuffer: 64 << 20 })).stdout;
  if (format !== "opus") return wav;
  return opus(wav);
}

/** A WAV as Ogg/Opus, as a phone records a voice note. */
export async function opus(wav: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const p = execFile("opusenc", ["--quiet", "-", "-"], { encoding: "buffer", maxBuffer: 64 << 20 }, (e, out) =>
      e ? reject(e) : resolve(out as Buffer),
    );
    p.stdin?.end(wav);
  });
}
