import { NotSerializableError, ValueTooLargeError } from "./errors.ts";

/**
 * Encodes a value for the journal. Only plain JSON passes: what JSON.stringify would silently turn
 * into something else (a Map into {}, a Date into a string, NaN into null) is refused here, at the
 * step, so replay never returns a value that differs from the one the live run saw.
 * `undefined` at the top encodes as null in the column (the caller tells them apart).
 */
export function encodeJson(value: unknown, what: string, limitBytes: number): string | null {
  if (value === undefined) return null;
  check(value, what, [], new Set());
  const text = JSON.stringify(value);
  // One byte per UTF-16 unit is exact for ASCII and a cheap lower bound otherwise; measure exactly only near the limit.
  if (text.length * 3 > limitBytes) {
    const bytes = Buffer.byteLength(text);
    if (bytes > limitBytes) throw new ValueTooLargeError(what, bytes, limitBytes);
  }
  return text;
}

export function decodeJson(text: string | null): unknown {
  return text === null ? undefined : JSON.parse(text);
}

/**
 * Where the walk is: the keys and indexes from the top. Pushed and popped as it goes, and made into
 * "$.a[1].b" only for an error: a string a node made every value cost as much as checking it.
 */
type Path = (string | number)[];

const pathText = (path: Path): string => `$${path.map((k) => (typeof k === "number" ? `[${k}]` : `.${k}`)).join("")}`;

function check(v: unknown, what: string, path: Path, seen: Set<object>): void {
  switch (typeof v) {
    case "string":
    case "boolean":
      return;
    case "number":
      if (!Number.isFinite(v)) throw new NotSerializableError(what, pathText(path), `${v} is not a finite number`);
      return;
    case "undefined":
      if (path.length > 0)
        throw new NotSerializableError(what, pathText(path), "undefined inside a value is dropped by JSON; use null");
      return;
    case "bigint":
      throw new NotSerializableError(what, pathText(path), "a bigint has no JSON form; use a string");
    case "function":
    case "symbol":
      throw new NotSerializableError(what, pathText(path), `a ${typeof v} has no JSON form`);
  }
  if (v === null) return;
  const o = v as object;
  if (seen.has(o)) throw new NotSerializableError(what, pathText(path), "the value contains a cycle");
  seen.add(o);
  if (Array.isArray(o)) {
    for (let i = 0; i < o.length; i++) {
      path.push(i);
      check(o[i], what, path, seen);
      path.pop();
    }
  } else {
    const proto = Object.getPrototypeOf(o);
    if (proto !== Object.prototype && proto !== null) {
      const kind = (o.constructor as { name?: string } | undefined)?.name ?? "object";
      throw new NotSerializableError(what, pathText(path), `a ${kind} is not a plain object`);
    }
    for (const k of Object.keys(o)) {
      const x = (o as Record<string, unknown>)[k];
      if (x === undefined) continue;
      path.push(k);
      check(x, what, path, seen);
      path.pop();
    }
  }
  seen.delete(o);
}
