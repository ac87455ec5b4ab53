/**
 * Crash tests of the agent loop: a real agentd worker process is SIGKILLed at a chosen point of a
 * turn (inside the reply delivery, inside a tool, while waiting for an approval, while the reply
 * streams) and started again. The stand-in model lives in this process and counts calls across the
 * kill; the worker's tool and channel log to files that survive it.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { approvals } from "../src/agent/approvals.ts";
import { policies } from "../src/agent/policy.ts";
import type { Agentd } from "../src/app.ts";
import { sessions } from "../src/sessions/store.ts";
import { crashBase } from "./support/crash-rig.ts";
import { BACKENDS, type Backend, type Place } from "./support/backends.ts";
import type { ModelServer } from "./support/model-server.ts";
import { until } from "./support/wait.ts";

const WORKER = fileURLToPath(new URL("./procs/agentd-worker.ts", import.meta.url));

interface Rig {
  client: Agentd;
  model: ModelServer;
  place: Place;
  tenantId: string;
  /** Starts a worker process; resolves when it is ready. */
  worker(): Promise<ChildProcess>;
  /** Resolves with the signal that ended the process. */
  exited(p: ChildProcess): Promise<NodeJS.Signals | null>;
  lines(file: string): string[];
  touch(marker: string): void;
}

async function rig(
  t: { after(fn: () => unknown): void },
  b: Backend,
  opts: { tokenDelayMs?: number } = {},
): Promise<Rig> {
  const { place, model, env, client, tenantId } = await crashBase(t, b, {
    model: { tokenDelayMs: opts.tokenDelayMs ?? 0 },
  });
  env.AGENTD_DATA = place.dataDir;
  const procs: ChildProcess[] = [];
  const errs = new Map<ChildProcess, string>();
  t.after(() => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  });
  return {
    client,
    model,
    place,
    tenantId,
    worker: () =>
      new Promise((resolve, reject) => {
        const p = spawn(process.execPath, [WORKER], { env, stdio: ["ignore", "pipe", "pipe"] });
        procs.push(p);
        let err = "";
        p.stderr!.on("data", (d) => errs.set(p, (err += d)));
        p.stdout!.on("data", (d) => String(d).includes("ready") && resolve(p));
        p.on("exit", (code, sig) => reject(new Error(`worker exited (${code ?? sig}) before ready: ${err}`)));
      }),
    exited: (p) =>
      new Promise((res, rej) => {
        const done = (code: number | null, sig: NodeJS.Signals | null) =>
          sig ? res(sig) : rej(new Error(`worker exited with code ${code}: ${errs.get(p)}`));
        if (p.exitCode !== null || p.signalCode !== null) done(p.exitCode, p.signalCode);
        else p.on("exit", done);
      }),
    lines: (file) =>
      existsSync(join(place.dataDir, file))
        ? readFileSync(join(place.dataDir, file), "utf8").trim().split("\n").filter(Boolean)
        : [],
    touch: (marker) => writeFileSync(join(place.dataDir, marker), ""),
  };
}

async function history(r: Rig, sessionId: string) {
  return (await sessions.history(r.client.tenants.scope(r.tenantId), sessionId)).map((m) => [m.role, m.content]);
}

const replies = (r: Rig) =>
  r
    .lines("deliveries.log")
    .map((l) => JSON.parse(l))
    .filter((d) => d.kind === "reply");

for (const b of BACKENDS) {
  describe(`crash: SIGKILL during a turn (${b.name})`, () => {
    test("killed after the model answered, before the reply was sent: no second model call, the reply is delivered once", async (t) => {
      const r = await rig(t, b);
      r.model.script({ text: "The answer is 42." });
      r.touch("kill-in-deliver-reply");
      const w1 = await r.worker();
      const msg = await r.client.inbox.receive({
        tenantId: r.tenantId,
        channel: "rec",
        conversation: "c",
        text: "question?",
      });
      assert.equal(await r.exited(w1), "SIGKILL");
      assert.equal(r.model.calls, 1);
      assert.equal(replies(r).length, 0, "died before sending");
      const w2 = await r.worker();
      t.after(() => w2.kill("SIGKILL"));
      assert.equal((await r.client.kernel.result<{ text: string }>(msg.runId)).text, "The answer is 42.");
      assert.equal(r.model.calls, 1, "the completed model call was replayed from the journal, not paid for again");
      assert.deepEqual(
        replies(r).map((d) => d.text),
        ["The answer is 42."],
      );
      assert.deepEqual(await history(r, msg.session.id), [
        ["user", "question?"],
        ["assistant", "The answer is 42."],
      ]);
    });

    test("killed inside a tool step: the tool runs again, the model is not asked again for what it already said", async (t) => {
      const r = await rig(t, b);
      r.model.script({ toolCalls: [{ name: "side_effect", arguments: { label: "A" } }] }, { text: "Done with A." });
      r.touch("kill-in-tool");
      const w1 = await r.worker();
      const msg = await r.client.inbox.receive({
        tenantId: r.tenantId,
        channel: "rec",
        conversation: "c",
        text: "do A",
      });
      assert.equal(await r.exited(w1), "SIGKILL");
      const w2 = await r.worker();
      t.after(() => w2.kill("SIGKILL"));
      assert.equal((await r.client.kernel.result<{ text: string }>(msg.runId)).text, "Done with A.");
      assert.deepEqual(r.lines("tool.log"), ["started A", "started A", "finished A"]);
      assert.equal(r.model.calls, 2, "one call chose the tool (journaled before the kill), one answered");
      assert.deepEqual(
        replies(r).map((d) => d.text),
        ["Done with A."],
      );
      assert.deepEqual(await history(r, msg.session.id), [
        ["user", "do A"],
        ["assistant", "Done with A."],
      ]);
    });

    test("killed while waiting for an approval: the decision made while no worker was alive is honoured after restart", async (t) => {
      const r = await rig(t, b);
      const scope = r.client.tenants.scope(r.tenantId);
      await policies.set(scope, { tool: "side_effect", decision: "ask" }, Date.now());
      r.model.script({ toolCalls: [{ name: "side_effect", arguments: { label: "B" } }] }, { text: "Did B." });
      const w1 = await r.worker();
      const msg = await r.client.inbox.receive({
        tenantId: r.tenantId,
        channel: "rec",
        conversation: "c",
        text: "do B",
      });
      const pending = await until(async () => (await approvals.list(scope))[0]);
      await until(async () => r.lines("deliveries.log").some((l) => l.includes('"approval"')) || undefined);
      w1.kill("SIGKILL");
      assert.equal(await r.exited(w1), "SIGKILL");
      await approvals.decide(scope, pending.id, "once", "tester", Date.now(), r.client.kernel);
      const w2 = await r.worker();
      t.after(() => w2.kill("SIGKILL"));
      assert.equal((await r.client.kernel.result<{ text: string }>(msg.runId)).text, "Did B.");
      assert.deepEqual(r.lines("tool.log"), ["started B", "finished B"]);
      assert.deepEqual(
        replies(r).map((d) => d.text),
        ["Did B."],
      );
      assert.deepEqual(await history(r, msg.session.id), [
        ["user", "do B"],
        ["assistant", "Did B."],
      ]);
    });

    test("killed while the reply streams: the turn completes after restart, one reply, a reader sees the retry start over", async (t) => {
      const r = await rig(t, b, { tokenDelayMs: 15 });
      const text = "This reply streams slowly, token by token, so that the worker can be killed halfway through it.";
      // The first answer stops after 12 of its 24 chunks and never ends: the kill lands mid-stream
      // however late this process sees the chunks (on a busy machine it saw them after the end).
      r.model.script({ text, stallAfterChunks: 12 }, { text });
      const w1 = await r.worker();
      const msg = await r.client.inbox.receive({
        tenantId: r.tenantId,
        channel: "rec",
        conversation: "c",
        text: "stream please",
      });
      const seen: { t: string; d?: string; attempt?: number; text?: string }[] = [];
      const reader = (async () => {
        for await (const c of r.client.kernel.subscribe<(typeof seen)[number]>(msg.runId, { pollMs: 10 }))
          seen.push(c.data);
      })();
      await until(async () => (seen.filter((c) => c.t === "text").length >= 5 ? true : undefined));
      w1.kill("SIGKILL");
      assert.equal(await r.exited(w1), "SIGKILL");
      assert.ok(replies(r).length === 0);
      const w2 = await r.worker();
      t.after(() => w2.kill("SIGKILL"));
      assert.equal((await r.client.kernel.result<{ text: string }>(msg.runId)).text, text);
      await reader;
      assert.equal(r.model.calls, 2, "the interrupted call is made again: it never completed");
      const starts = seen.filter((c) => c.t === "start");
      assert.equal(starts.length, 2, "a reader sees the second attempt start and can drop the partial text");
      const afterRestart = seen.slice(seen.lastIndexOf(starts[1]!));
      assert.equal(
        afterRestart
          .filter((c) => c.t === "text")
          .map((c) => c.d)
          .join(""),
        text,
      );
      assert.equal(seen.at(-1)?.text, text);
      assert.deepEqual(
        replies(r).map((d) => d.text),
        [text],
      );
      assert.deepEqual(await history(r, msg.session.id), [
        ["user", "stream please"],
        ["assistant", text],
      ]);
    });
  });
}
