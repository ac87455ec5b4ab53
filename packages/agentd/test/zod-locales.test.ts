// The bin's module hook (src/zod-locales.js): zod's locales other than English load on their first
// use, and `z.locales` is what it was (every name, each giving zod's own messages).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { test } from "node:test";
import * as realLocales from "zod/v4/locales";

const HOOK = new URL("../src/zod-locales.js", import.meta.url).href;
const ZOD = import.meta.resolve("zod");
// Plain JavaScript (the bin loads it before any TypeScript): its type said here.
const { lazyLocalesSource } = (await import(HOOK)) as { lazyLocalesSource(index: string): string | null };
const INDEX = createRequire(import.meta.url)
  .resolve("zod/v4/locales")
  .replace(/index\.cjs$/, "index.js");

/** Runs `body` in a node process of its own (zod loaded once, after the hook when `hooked`); its last line as JSON. */
function inChild(hooked: boolean, body: string) {
  const script = `
    import { registerHooks } from "node:module";
    const loaded = [];
    registerHooks({ load(url, ctx, next) { loaded.push(url); return next(url, ctx); } });
    ${hooked ? `(await import(${JSON.stringify(HOOK)})).lazyZodLocales();` : ""}
    const { z } = await import(${JSON.stringify(ZOD)});
    const locales = () => loaded.filter((u) => u.includes("/zod/v4/locales/") && !u.endsWith("/index.js")).length;
    ${body}
  `;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").at(-1) as string);
}

test("with the hook, importing zod loads English only; every locale is still there and loads on its first call", () => {
  const probe = `
    const first = locales();
    const s = z.string();
    const en = s.safeParse(1).error.issues[0].message;
    z.config(z.locales.fr());
    const fr = s.safeParse(1).error.issues[0].message;
    z.config(z.locales.en());
    console.log(JSON.stringify({ first, after: locales(), names: Object.keys(z.locales).sort(), en, fr, back: s.safeParse(1).error.issues[0].message }));
  `;
  const hooked = inChild(true, probe);
  const plain = inChild(false, probe);
  assert.equal(hooked.first, 1, "English only");
  assert.ok(plain.first > 40, `without the hook zod loads every locale (${plain.first})`);
  assert.equal(hooked.after, 2, "French loaded when asked for");
  assert.deepEqual(hooked.names, Object.keys(realLocales).sort());
  assert.deepEqual(hooked.names, plain.names);
  for (const k of ["en", "fr", "back"]) assert.equal(hooked[k], plain[k], k);
  assert.notEqual(hooked.en, hooked.fr);
});

test("zod's locales index as this zod ships it is understood; any other text is left to Node", () => {
  const source = lazyLocalesSource(readFileSync(INDEX, "utf8"));
  assert.ok(source, "the hook recognizes zod's index");
  assert.match(source, /export \{ default as en \} from "\.\/en\.js";/);
  assert.equal(lazyLocalesSource('export { default as en } from "./en.js";\nexport * from "./other.js";\n'), null);
  assert.equal(
    lazyLocalesSource('export { default as fr } from "./fr.js";\n'),
    null,
    "no English: not the index this knows",
  );
  assert.equal(lazyLocalesSource(""), null);
});
