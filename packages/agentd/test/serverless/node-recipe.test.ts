// The README's recipe for function platforms other than Next.js (examples/node/handler.ts), run as
// written: its fetch form with the platform's waitUntil, and its Node (req, res) listener served over
// HTTP on 127.0.0.1 with the cron's tick. The README shows the file itself.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { createAgentd } from "../../src/app.ts";
import { pgUrl } from "../support/backends.ts";
import { sentTo } from "../support/telegram-rig.ts";
import { textUpdate } from "../support/telegram-updates.ts";
import { functionRig, HOOK_SECRET, TICK_SECRET } from "./rig.ts";

const RECIPE = new URL("../../../../examples/node/handler.ts", import.meta.url);
const README = new URL("../../../../README.md", import.meta.url);
const ALICE = { id: 4401, is_bot: false, first_name: "Alice", username: "alice" };
const BOB = { id: 4402, is_bot: false, first_name: "Bob", username: "bob" };

test("the README shows examples/node/handler.ts as it is", () => {
  const readme = readFileSync(README, "utf8");
  assert.ok(readme.includes(`\`\`\`ts\n${readFileSync(RECIPE, "utf8")}\`\`\``), "README's block is the file");
});

test("the plain recipe works as written: fetch(req, env, ctx) runs a turn through ctx.waitUntil; the (req, res) listener over HTTP leaves it to the tick", {
  skip: pgUrl ? false : "no Postgres (set DATABASE_URL): agentd as a function runs on Postgres only",
}, async (t) => {
  const { env, tg, model } = await functionRig(t);
  // The platform's environment: the recipe reads process.env, as on a platform.
  Object.assign(process.env, env);
  const op = await createAgentd({ env, worker: false, api: false, channelLog: () => {}, logger: () => {} });
  t.after(() => op.close());
  const tenant = await op.tenants.create("recipe", {});
  const recipe = (await import(RECIPE.href)) as typeof import("../../../../examples/node/handler.ts");
  const hook = (base: string, update: object) =>
    new Request(`${base}/channels/telegram`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": HOOK_SECRET },
      body: JSON.stringify(update),
    });
  const last = (id: number) => sentTo(tg, id).at(-1)?.params.text;

  // fetch form: the platform's ctx.waitUntil keeps the invocation for the turn.
  for (const person of [ALICE, BOB]) {
    const { code } = await op.tenants.createPairingCode(tenant.id);
    assert.equal(
      (await recipe.default.fetch(hook("http://fn.test", textUpdate(person, `/start ${code}`)))).status,
      200,
    );
  }
  model.script({ text: "From the fetch form." });
  const kept: Promise<unknown>[] = [];
  const res = await recipe.default.fetch(
    hook("http://fn.test", textUpdate(ALICE, "hi")),
    {},
    {
      waitUntil: (p) => void kept.push(p),
    },
  );
  assert.equal(res.status, 200);
  assert.equal(kept.length, 1);
  await Promise.all(kept);
  assert.equal(last(ALICE.id), "From the fetch form.");

  // (req, res) form over HTTP: the webhook answers, the turn waits for the cron's tick.
  const server = createServer(recipe.listener);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => new Promise((r) => server.close(r)));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  assert.equal((await fetch(`${base}/health`)).status, 200);
  model.script({ text: "From the listener, on the tick." });
  assert.equal((await fetch(hook(base, textUpdate(BOB, "hello")))).status, 200);
  assert.notEqual(last(BOB.id), "From the listener, on the tick.", "not before the tick");
  assert.equal((await fetch(`${base}/tick`, { method: "POST" })).status, 401, "the tick needs its secret");
  const tick = await fetch(`${base}/tick`, { method: "POST", headers: { authorization: `Bearer ${TICK_SECRET}` } });
  assert.equal(tick.status, 200);
  assert.equal(((await tick.json()) as { drain: { finished: number } }).drain.finished, 1);
  assert.equal(last(BOB.id), "From the listener, on the tick.");
  assert.equal(model.calls, 2);
});
