// The bin's one module hook: zod's translations of its error messages load when one is asked for.
// `import { z } from "zod"` loads all of zod's locales (`export * as locales` in its index: some 60
// modules, a tenth of what `agentd start` loaded before its ready line), and agentd uses only
// English, which zod registers itself. The hook hands Node another text for zod's
// `v4/locales/index.js`: English as it was, every other locale a function of the same name that
// loads its module on its first call (require of an ES module, synchronous, the same instance an
// import gets). Plain JavaScript, like main.js, which installs it before anything imports zod.
import { readFileSync } from "node:fs";
import { registerHooks } from "node:module";
import { fileURLToPath } from "node:url";

const INDEX = /\/zod\/v4\/locales\/index\.js$/;
const LINE = /^export \{ default as (\w+) \} from "(\.\/[\w-]+\.js)";$/;

/** The text for zod's locales index, or null when it is not the list of re-exports this knows. */
export function lazyLocalesSource(index) {
  const lines = index.split("\n").filter((l) => l.trim() !== "");
  const locales = lines.map((l) => LINE.exec(l.trim()));
  if (locales.length === 0 || locales.some((m) => m === null) || !locales.some((m) => m[1] === "en")) return null;
  const out = ['import { createRequire } from "node:module";', "const require = createRequire(import.meta.url);"];
  for (const [, name, file] of locales)
    out.push(
      name === "en"
        ? `export { default as en } from ${JSON.stringify(file)};`
        : `export function ${name}(...args) { return require(${JSON.stringify(file)}).default(...args); }`,
    );
  return `${out.join("\n")}\n`;
}

/** Installs the hook (Node ≥ 22.15 has registerHooks; without it, zod loads as it is). */
export function lazyZodLocales() {
  registerHooks?.({
    load(url, context, next) {
      if (!INDEX.test(url)) return next(url, context);
      const source = lazyLocalesSource(readFileSync(fileURLToPath(url), "utf8"));
      return source === null ? next(url, context) : { format: "module", source, shortCircuit: true };
    },
  });
}
