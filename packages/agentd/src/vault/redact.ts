import { createHash } from "node:crypto";
import { AgentdError } from "../errors.ts";
import { SecretMatcher } from "./secret-matcher.ts";

/** What a redacted secret is replaced with. */
export const REDACTED = "[secret]";

/** Shorter values are not redacted: they would match ordinary text everywhere. */
const MIN_LENGTH = 4;
/** An unaligned base64 core shorter than this is too likely to match by chance. */
const MIN_CORE = 6;

/**
 * Thrown when redaction itself fails (out of memory, a value too deep): the text is then withheld.
 * It never carries the text, a secret or the cause's message, which could hold either.
 */
export class RedactionError extends AgentdError<"redaction_failed"> {
  constructor() {
    super("redaction_failed", "redaction failed, so the text was withheld (it could hold secrets)");
  }
}

/** What a RedactingStream lets through: redacted text made of whole pieces, and how many. */
export interface Released {
  text: string;
  pieces: number;
}

/** Text that arrives in pieces (a model's tokens), redacted across the places it was cut. */
export interface RedactingStream {
  /**
   * Adds a piece; returns what can be shown now, redacted. It ends where a piece ended (a reader
   * resuming after the last piece shown misses nothing), and holds back a tail that could begin a secret.
   */
  push(piece: string): Released;
  /** Everything held, redacted: the text ended. */
  flush(): Released;
}

export interface Redactor {
  text(s: string): string;
  /** A copy of a JSON value with every string (object keys included) redacted. */
  deep<T>(value: T): T;
  stream(): RedactingStream;
}

/**
 * Builds the matcher once for many strings: each value (of 4 characters or more) is matched as is,
 * URL-encoded, form-encoded, JSON-escaped and base64-encoded (standard and URL alphabets, padded or
 * not, and at the three byte alignments it can take inside a longer base64 text such as
 * `Basic base64(user:password)`). Every character inside any match is replaced, overlapping and
 * touching matches by one `[secret]`; long forms also match in part (see SecretMatcher).
 */
export function createRedactor(values: readonly string[]): Redactor {
  if (values.length === 0) return buildRedactor(values);
  // A full vault's matcher takes about a second of CPU to build, and every tool call and run view
  // builds one: built once per distinct set of values instead (hashing 1 MB takes a few ms).
  const hash = createHash("sha256");
  let bytes = 0;
  for (const v of values) {
    if (typeof v !== "string") continue;
    hash.update(`${v.length}:`).update(v);
    bytes += v.length;
  }
  const key = hash.digest("base64");
  const hit = BUILT.get(key);
  if (hit) {
    BUILT.delete(key);
    BUILT.set(key, hit); // the most recently used goes last
    return hit.redactor;
  }
  const redactor = buildRedactor(values);
  if (bytes <= BUILT_MAX_BYTES) {
    BUILT.set(key, { redactor, bytes });
    builtBytes += bytes;
    for (const [k, e] of BUILT) {
      if (builtBytes <= BUILT_MAX_BYTES) break;
      BUILT.delete(k);
      builtBytes -= e.bytes;
    }
  }
  return redactor;
}

/**
 * Redactors built, by a hash of their values, least recently used first; bounded by the bytes of
 * the values they match (a full vault of 1 MB makes a matcher of about 25 MB of heap).
 */
const BUILT = new Map<string, { redactor: Redactor; bytes: number }>();
const BUILT_MAX_BYTES = 2 * 1024 * 1024;
let builtBytes = 0;

function buildRedactor(values: readonly string[]): Redactor {
  const forms = new Set<string>();
  for (const v of values)
    if (typeof v === "string" && v.length >= MIN_LENGTH) for (const f of secretForms(v)) forms.add(f);
  const matcher = new SecretMatcher([...forms]);
  const text = (s: string) => guarded(() => (matcher.empty || !s ? s : render(s, matcher.cover(s), s.length)));
  const deep = <T>(value: T): T => guarded(() => walk(value, text) as T);
  const stream = (): RedactingStream => streamOf(matcher);
  return { text, deep, stream };
}

/** `text` with every occurrence of any secret value, plain or encoded, replaced by `[secret]`. */
export function redactSecrets(text: string, values: readonly string[]): string {
  return createRedactor(values).text(text);
}

/** A copy of a JSON value with every string redacted as by `redactSecrets`. */
export function redactSecretsDeep<T>(value: T, values: readonly string[]): T {
  return createRedactor(values).deep(value);
}

function guarded<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (RedactionError.is(e)) throw e;
    throw new RedactionError();
  }
}

/** `s[0, end)` with each covered run replaced by one `[secret]`. */
function render(s: string, covered: Uint8Array, end: number): string {
  let out = "";
  let from = 0;
  for (let i = 0; i < end; i++) {
    if (!covered[i]) continue;
    out += s.slice(from, i) + REDACTED;
    while (i < end && covered[i]) i++;
    from = i;
  }
  return from === 0 ? s.slice(0, end) : out + s.slice(from, end);
}

/**
 * Holds back the last (longest form − 1) characters: a secret that starts before them ends inside
 * what is already here, so it is seen whole; one that starts among them waits for the next piece.
 * What is let through ends at the end of a piece and never inside a match.
 */
function streamOf(matcher: SecretMatcher): RedactingStream {
  const hold = Math.max(0, matcher.longest - 1);
  let pending = "";
  let ends: number[] = []; // where each held piece ends in `pending`
  const release = (limit: number): Released =>
    guarded(() => {
      if (ends.length === 0 || (ends[0] as number) > limit) return { text: "", pieces: 0 };
      const covered = matcher.empty ? null : matcher.cover(pending);
      let pieces = 0;
      for (let i = 0; i < ends.length && (ends[i] as number) <= limit; i++) {
        const at = ends[i] as number;
        if (!covered || at === pending.length || !(covered[at - 1] && covered[at])) pieces = i + 1;
      }
      if (pieces === 0) return { text: "", pieces: 0 };
      const cut = ends[pieces - 1] as number;
      const text = covered ? render(pending, covered, cut) : pending.slice(0, cut);
      pending = pending.slice(cut);
      ends = ends.slice(pieces).map((e) => e - cut);
      return { text, pieces };
    });
  return {
    push(piece) {
      pending += piece;
      ends.push(pending.length);
      return pending.length <= hold ? { text: "", pieces: 0 } : release(pending.length - hold);
    },
    flush: () => release(pending.length),
  };
}

function secretForms(v: string): string[] {
  const bytes = Buffer.from(v, "utf8");
  const out = [v, encodeURIComponent(v), encodeURIComponent(v).replace(/%20/g, "+"), JSON.stringify(v).slice(1, -1)];
  const b64: string[] = [];
  for (let k = 0; k < 3; k++) {
    const whole = Buffer.concat([Buffer.alloc(k), bytes]).toString("base64");
    // With k bytes before it, the characters that depend on the secret's bits alone run from ceil(8k/6) to floor(8(k+n)/6).
    const core = whole.slice(Math.ceil((8 * k) / 6), Math.floor((8 * (k + bytes.length)) / 6));
    if (k === 0) b64.push(whole, whole.replace(/=+$/, ""));
    if (core.length >= MIN_CORE) b64.push(core);
  }
  for (const f of b64) out.push(f, f.replace(/\+/g, "-").replace(/\//g, "_"));
  return out.filter((f) => f.length >= MIN_LENGTH);
}

function walk(v: unknown, text: (s: string) => string): unknown {
  if (typeof v === "string") return text(v);
  if (Array.isArray(v)) return v.map((x) => walk(x, text));
  // fromEntries defines own properties, so a "__proto__" key stays data instead of becoming a prototype.
  if (v !== null && typeof v === "object")
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [text(k), walk(x, text)]));
  return v;
}
