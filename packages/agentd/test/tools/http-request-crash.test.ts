/**
 * A worker SIGKILLed while http_request waits for an API's answer: a POST (it may have acted) is not
 * sent again silently; a person is asked first ("RUN AGAIN?"), as for an ssh command. A method HTTP
 * defines as idempotent (a GET here) is sent again by itself.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { approvals } from "../../src/agent/approvals.ts";
import { policies } from "../../src/agent/policy.ts";
import { BACKENDS, type Backend } from "../support/backends.ts";
import { crashBase } from "../support/crash-rig.ts";
import type { RecordedRequest } from "../support/model-server.ts";
import { until } from "../support/wait.ts";

const WORKER = fileURLToPath(new URL("../procs/agentd-worker.ts", import.meta.url));

/** An API that records each request and answers it only once the test says go. */
async function startApi(t: { after(fn: () => unknown): void }) {
  const seen: string[] = [];
  let go!: () => void;
  const gate = new Promise<void>((r) => (go = r));
  const server = createServer(async (req, res) => {
    for await (const _ of req);
    seen.push(`${req.method} ${req.url}`);
    await gate;
    res.writeHead(200, { "content-type": "text/plain" }).end(`done: ${req.method} ${req.url}`);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  t.after(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, seen, go };
}

async function rig(t: { after(fn: () => unknown): void }, b: Backend, method: "GET" | "POST") {
  const api = await startApi(t);
  const { env, client, tenantId, model, place } = await crashBase(t, b, {
    tenant: "api",
    net: { allowPrivate: false, allowHosts: [api.host] },
    env: { AGENTD_ALLOW_HOSTS: api.host },
  });
  env.AGENTD_DATA = place.dataDir;
  const scope = client.tenants.scope(tenantId);
  await policies.set(scope, { tool: "http_request", decision: "allow" }, Date.now());
  model.script({ toolCalls: [{ name: "http_request", arguments: { method, url: `http://${api.host}/orders` } }] });
  // Every later call answers from the last tool result: a model step may run twice when a busy worker's
  // short lease lapses (steps are at least once; one result is recorded), and a queued answer would run out.
  model.fallback = (req: RecordedRequest) => ({ text: `Result: ${String(req.body.messages.at(-1)?.content ?? "")}` });
  const procs: ChildProcess[] = [];
  t.after(() => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  });
  const worker = () =>
    new Promise<ChildProcess>((resolve, reject) => {
      const p = spawn(process.execPath, [WORKER], { env, stdio: ["ignore", "pipe", "pipe"] });
      procs.push(p);
      let err = "";
      p.stderr!.on("data", (d) => (err += d));
      p.stdout!.on("data", (d) => String(d).includes("ready") && resolve(p));
      p.on("exit", (code, sig) => reject(new Error(`worker exited (${code ?? sig}) before ready: ${err}`)));
    });
  const killDuringRequest = async () => {
    const w = await worker();
    const r = await client.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "order" });
    await until(() => api.seen.length === 1, "the request to reach the API", 60_000);
    w.kill("SIGKILL");
    await new Promise<void>((ok) => (w.exitCode !== null || w.signalCode !== null ? ok() : w.on("exit", () => ok())));
    api.go(); // whatever is sent next is answered at once
    return r.runId;
  };
  return { client, scope, seen: api.seen, worker, killDuringRequest };
}

for (const b of BACKENDS)
  describe(`crash: SIGKILL while http_request waits for the API (${b.name})`, () => {
    test("a POST is sent again only once a person approves (its outcome unknown)", { timeout: 240_000 }, async (t) => {
      const { client, scope, seen, worker, killDuringRequest } = await rig(t, b, "POST");
      const runId = await killDuringRequest();
      await worker();
      const ask = await until(
        async () => (await approvals.list(scope)).find((a) => a.status === "pending"),
        "the approval to send it again",
        60_000,
      );
      assert.match(
        ask.subject,
        /^RUN AGAIN\? the last attempt's outcome is unknown \(its worker stopped while it ran\): POST http:\/\/127\.0\.0\.1:\d+\/orders/,
      );
      await new Promise((res) => setTimeout(res, 1000));
      assert.deepEqual(seen, ["POST /orders"], "not sent again while the person has not answered");
      await approvals.decide(scope, ask.id, "once", "test", Date.now(), client.kernel);
      const out = await client.kernel.result<{ text: string }>(runId);
      assert.deepEqual(seen, ["POST /orders", "POST /orders"], "sent again once approved");
      assert.match(out.text, /first attempt's outcome is unknown/);
      assert.match(out.text, /done: POST \/orders/);
    });

    test("a GET is sent again by itself, without asking", { timeout: 240_000 }, async (t) => {
      const { client, scope, seen, worker, killDuringRequest } = await rig(t, b, "GET");
      const runId = await killDuringRequest();
      await worker();
      const out = await client.kernel.result<{ text: string }>(runId);
      assert.match(out.text, /done: GET \/orders/);
      assert.deepEqual(seen, ["GET /orders", "GET /orders"]);
      assert.deepEqual(await approvals.list(scope), [], "no one was asked");
    });
  });
