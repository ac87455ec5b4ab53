/**
 * A worker SIGKILLed while an MCP tool runs at its server: the retry calls it again by itself only
 * when the server marks the tool read-only (its annotations' readOnlyHint); any other tool's call may
 * have acted, so a person is asked first ("RUN AGAIN?"), as for an ssh command.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { approvals } from "../../src/agent/approvals.ts";
import { policies } from "../../src/agent/policy.ts";
import { BACKENDS, type Backend } from "../support/backends.ts";
import { crashBase } from "../support/crash-rig.ts";
import { type Factory, startHttpMcp } from "../support/mcp-servers.ts";
import type { RecordedRequest } from "../support/model-server.ts";
import { until } from "../support/wait.ts";

const WORKER = fileURLToPath(new URL("../procs/agentd-worker.ts", import.meta.url));

/** An operations server: `read_status` only reads (readOnlyHint), `send_note` acts; each call waits for the test's go. */
function opsServer() {
  const calls: string[] = [];
  let go!: () => void;
  const gate = new Promise<void>((r) => (go = r));
  const factory: Factory = () => {
    const server = new McpServer({ name: "ops", version: "1.0.0" });
    server.registerTool(
      "read_status",
      {
        description: "Reads a service's status.",
        inputSchema: { service: z.string() },
        annotations: { readOnlyHint: true },
      },
      async ({ service }) => {
        calls.push(`read_status ${service}`);
        await gate;
        return { content: [{ type: "text", text: `${service} is up` }] };
      },
    );
    server.registerTool(
      "send_note",
      {
        description: "Sends a note to the on-call person.",
        inputSchema: { text: z.string() },
        annotations: { readOnlyHint: false, destructiveHint: false },
      },
      async ({ text }) => {
        calls.push(`send_note ${text}`);
        await gate;
        return { content: [{ type: "text", text: `sent "${text}"` }] };
      },
    );
    return { server };
  };
  return { factory, calls, go };
}

async function rig(t: { after(fn: () => unknown): void }, b: Backend, call: { name: string; arguments: unknown }) {
  const ops = opsServer();
  const http = await startHttpMcp(ops.factory);
  t.after(() => http.close());
  const host = new URL(http.url).host;
  const { env, client, tenantId, model, place } = await crashBase(t, b, {
    tenant: "ops",
    env: {
      AGENTD_MCP_SERVERS: JSON.stringify([{ name: "ops", transport: "http", url: http.url }]),
      AGENTD_ALLOW_HOSTS: host,
    },
  });
  env.AGENTD_DATA = place.dataDir;
  const scope = client.tenants.scope(tenantId);
  await policies.set(scope, { tool: "mcp__ops__*", decision: "allow" }, Date.now());
  model.script({ toolCalls: [call] });
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
  const killDuringCall = async () => {
    const w = await worker();
    const r = await client.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "go" });
    await until(() => ops.calls.length === 1, "the call to reach the server", 60_000);
    w.kill("SIGKILL");
    await new Promise<void>((ok) => (w.exitCode !== null || w.signalCode !== null ? ok() : w.on("exit", () => ok())));
    ops.go(); // the orphaned call at the server ends; whatever calls next does not wait
    return r.runId;
  };
  return { client, scope, calls: ops.calls, worker, killDuringCall };
}

for (const b of BACKENDS)
  describe(`crash: SIGKILL while an MCP tool runs (${b.name})`, () => {
    test("a tool the server marks read-only is called again by itself, without asking", {
      timeout: 240_000,
    }, async (t) => {
      const { client, scope, calls, worker, killDuringCall } = await rig(t, b, {
        name: "mcp__ops__read_status",
        arguments: { service: "db" },
      });
      const runId = await killDuringCall();
      await worker();
      const out = await client.kernel.result<{ text: string }>(runId);
      assert.match(out.text, /db is up/);
      assert.deepEqual(calls, ["read_status db", "read_status db"]);
      assert.deepEqual(await approvals.list(scope), [], "no one was asked");
    });

    test("a tool not marked read-only is called again only once a person approves (its outcome unknown)", {
      timeout: 240_000,
    }, async (t) => {
      const { client, scope, calls, worker, killDuringCall } = await rig(t, b, {
        name: "mcp__ops__send_note",
        arguments: { text: "disk full" },
      });
      const runId = await killDuringCall();
      await worker();
      const ask = await until(
        async () => (await approvals.list(scope)).find((a) => a.status === "pending"),
        "the approval to call it again",
        60_000,
      );
      assert.match(
        ask.subject,
        /^RUN AGAIN\? the last attempt's outcome is unknown \(its worker stopped while it ran\): \{"text":"disk full"\}$/,
      );
      await new Promise((res) => setTimeout(res, 1000));
      assert.deepEqual(calls, ["send_note disk full"], "not called again while the person has not answered");
      await approvals.decide(scope, ask.id, "once", "test", Date.now(), client.kernel);
      const out = await client.kernel.result<{ text: string }>(runId);
      assert.deepEqual(calls, ["send_note disk full", "send_note disk full"], "called again once approved");
      assert.match(out.text, /first attempt's outcome is unknown/);
      assert.match(out.text, /sent \\"disk full\\"|sent "disk full"/);
    });
  });
