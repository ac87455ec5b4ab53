/** What a redacted secret is replaced with. */
export const REDACTED = "[secret]";

/** Shorter values are not redacted: they would match ordinary text everywhere. */
const MIN_LENGTH = 4;
/** An unaligned base64 core shorter than this is too likely to match by chance. */
const MIN_CORE = 6;

export interface Redactor {
  text(s: string): string;
  /** A copy of a JSON value with every string (object keys included) redacted. */
  deep<T>(value: T): T;
}

/**
 * Builds the matcher once for many strings: each value (of 4 characters or more) is matched as is,
 * URL-encoded, form-encoded, JSON-escaped and base64-encoded (standard and URL alphabets, padded or
 * not, and at the three byte alignments it can take inside a longer base64 text such as
 * `Basic base64(user:password)`).
 */
export function createRedactor(values: readonly string[]): Redactor {
  const forms = new Set<string>();
  for (const v of values) if (typeof v === "string" && v.length >= MIN_LENGTH) for (const f of secretForms(v)) forms.add(f);
  // Longest first, so that where two forms start at one place the whole of the longer is removed.
  const sorted = [...forms].sort((a, b) => b.length - a.length);
  const re = sorted.length ? new RegExp(sorted.map(escape).join("|"), "g") : null;
  const text = (s: string) => (re && s.length ? s.replace(re, REDACTED) : s);
  const deep = <T>(value: T): T => walk(value, text) as T;
  return { text, deep };
}

/** `text` with every occurrence of any secret value, plain or encoded, replaced by `[secret]`. */
export function redactSecrets(text: string, values: readonly string[]): string {
  return createRedactor(values).text(text);
}

/** A copy of a JSON value with every string redacted as by `redactSecrets`. */
export function redactSecretsDeep<T>(value: T, values: readonly string[]): T {
  return createRedactor(values).deep(value);
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

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function walk(v: unknown, text: (s: string) => string): unknown {
  if (typeof v === "string") return text(v);
  if (Array.isArray(v)) return v.map((x) => walk(x, text));
  // fromEntries defines own properties, so a "__proto__" key stays data instead of becoming a prototype.
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [text(k), walk(x, text)]));
  return v;
}
