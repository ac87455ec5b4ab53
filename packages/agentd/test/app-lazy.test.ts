// The built-in tools (tools/<name>/index.ts; load-tools is the registry's own) and the turn's code load on first use (app.ts: registerLater, lazyTurnWorkflow),
// or when `warm` is called (`agentd start` calls it right after its ready line), not when agentd is
// made: a turn that finds them unloaded loads them itself and answers as before. Each case in a node
// process of its own, so that no other test has loaded the modules already.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { BACKENDS } from "./support/backends.ts";

const SRC = new URL("../src/", import.meta.url);
const MODEL = new URL("support/model-server.ts", import.meta.url);

function inChild(place: object, body: string) {
  const script = `
    import { registerHooks } from "node:module";
    const loaded = [];
    registerHooks({ load(url, ctx, next) { loaded.push(url); return next(url, ctx); } });
    const state = () => ({
      tools: loaded.filter((u) => /\\/src\\/tools\\/(?!load-tools)[a-z-]+\\/index\\.ts$/.test(u)).length,
      turn: loaded.some((u) => u.endsWith("/src/agent/turn.ts")),
    });
    const { createAgentd } = await import(${JSON.stringify(new URL("app.ts", SRC).href)});
    const { startModelServer } = await import(${JSON.stringify(MODEL.href)});
    const model = await startModelServer();
    const app = await createAgentd({
      env: {},
      config: { ...${JSON.stringify(place)}, adminToken: "admin-test-token", model: { id: "stand-in", baseURL: model.url, apiKey: "k" } },
      logger: () => {},
    });
    const turn = async () => {
      model.script({ text: "Hello there." });
      const tenant = await app.tenants.create("t", {});
      const r = await app.inbox.receive({ tenantId: tenant.id, channel: "http", conversation: "c", text: "Hi" });
      return { text: (await app.kernel.result(r.runId)).text, offered: model.requests[0].raw.includes('"remember"') };
    };
    ${body}
    await app.close();
    await model.close();
  `;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 180_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").at(-1) as string);
}

for (const b of BACKENDS) {
  test(`agentd made and executing runs has loaded no built-in tool nor the turn; the first turn loads them and answers (${b.name})`, (t) => {
    const out = inChild(
      b.place(t),
      `
      await app.start({ channels: false, warm: false });
      const made = state();
      const answered = await turn();
      console.log(JSON.stringify({ made, answered, after: state() }));
    `,
    );
    assert.deepEqual(out.made, { tools: 0, turn: false });
    assert.deepEqual(out.answered, { text: "Hello there.", offered: true });
    assert.equal(out.after.turn, true);
    assert.ok(out.after.tools > 5, `the built-ins loaded with the first turn (${out.after.tools})`);
  });

  test(`warm loads the built-in tools and the turn, as start does by default (${b.name})`, (t) => {
    const out = inChild(
      b.place(t),
      `
      const made = state();
      app.warm();
      const warmed = state();
      await app.start({ channels: false });
      console.log(JSON.stringify({ made, warmed, answered: await turn() }));
    `,
    );
    assert.deepEqual(out.made, { tools: 0, turn: false });
    assert.equal(out.warmed.turn, true);
    assert.ok(out.warmed.tools > 5);
    assert.deepEqual(out.answered, { text: "Hello there.", offered: true });
  });
}

test("agentd start prints its ready line before loading the built-in tools, the turn, node:https or pg, and loads the first two right after", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "agentd-lazy-start-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Preloaded into the process: what was loaded when the ready line was written, and a moment after.
  const hook = join(dir, "hook.mjs");
  writeFileSync(
    hook,
    `
    import { registerHooks } from "node:module";
    import { appendFileSync } from "node:fs";
    const loaded = [];
    registerHooks({ load(url, ctx, next) { loaded.push(url); return next(url, ctx); } });
    const state = (at) => JSON.stringify({
      at,
      tools: loaded.filter((u) => /\\/src\\/tools\\/(?!load-tools)[a-z-]+\\/index\\.ts$/.test(u)).length,
      turn: loaded.some((u) => u.endsWith("/src/agent/turn.ts")),
      https: process.moduleLoadList.includes("NativeModule https"),
      pg: loaded.some((u) => u.includes("/node_modules/pg/")),
    }) + "\\n";
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = (chunk, ...rest) => {
      if (String(chunk).startsWith("agentd ready at")) {
        appendFileSync(${JSON.stringify(join(dir, "states"))}, state("ready"));
        setTimeout(() => appendFileSync(${JSON.stringify(join(dir, "states"))}, state("after")), 0);
      }
      return write(chunk, ...rest);
    };
    `,
  );
  const child = spawn(
    process.execPath,
    ["--import", hook, new URL("main.js", SRC).pathname, "start", "--data", join(dir, "data")],
    {
      env: {
        PATH: process.env.PATH,
        AGENTD_PORT: "0",
        AGENTD_HOST: "127.0.0.1",
        AGENTD_ADMIN_TOKEN: "admin-test-token-0123",
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let err = "";
  child.stderr.on("data", (d: Buffer) => {
    err += d;
  });
  const exited = new Promise((r) => child.once("exit", r));
  t.after(async () => {
    child.kill("SIGTERM");
    await exited;
  });
  const states = () => {
    try {
      return readFileSync(join(dir, "states"), "utf8")
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    } catch {
      return [];
    }
  };
  const deadline = Date.now() + 120_000;
  while (states().length < 2) {
    assert.ok(Date.now() < deadline && child.exitCode === null, `agentd start did not get ready: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const [ready, after] = states();
  // Nor node:https (and TLS): only a request going out needs it (net/guard.ts); nor pg, on SQLite.
  assert.deepEqual(ready, { at: "ready", tools: 0, turn: false, https: false, pg: false });
  assert.equal(after.turn, true);
  assert.ok(after.tools > 5, `the built-ins loaded right after the ready line (${after.tools})`);
});
