import { InvalidArgumentError } from "../errors.ts";

export function checkName(api: string, name: unknown): void {
  if (typeof name !== "string" || name.length === 0 || name.length > 200)
    throw new InvalidArgumentError(
      `${api} needs a name of 1 to 200 characters as its first argument, got ${JSON.stringify(name) ?? typeof name}.`,
    );
  checkText(`the name given to ${api}`, name);
}

/** Names, keys and namespaces are stored as text, which cannot hold a NUL character on Postgres: refused on every store. */
export function checkText(what: string, text: string): void {
  if (text.includes("\u0000"))
    throw new InvalidArgumentError(`${what} contains a NUL character (\\u0000), which cannot be stored; remove it.`);
}

export function toTime(at: Date | number): number {
  const t = at instanceof Date ? at.getTime() : at;
  if (typeof t !== "number" || !Number.isFinite(t))
    throw new InvalidArgumentError(`ctx.sleepUntil needs a Date or a time in ms, got ${String(at)}.`);
  return t;
}
