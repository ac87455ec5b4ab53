/**
 * A Postgres connection that goes away in the middle of one of the store's transactions (here
 * kernel.sendEvent, held on a row lock, whose server backend is terminated, as a restart or a
 * failover does to every connection) must fail that call with an error the caller can retry, and
 * leave the process running. The client is a separate process (procs/event-sender.ts), so that a
 * crash is seen as a crash.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import test from "node:test";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { Kernel } from "../../src/index.ts";
import { noPg, pgUrl, tempSchema, until, within } from "./cluster.ts";
import { ALL_WORKFLOWS, mixed } from "./procs/workflows.ts";

const SENDER = fileURLToPath(new URL("./procs/event-sender.ts", import.meta.url));
type Sent = { type: "sent"; ok: boolean; result?: unknown; error?: string };

test("a transaction cut by the server (backend terminated mid-sendEvent) fails the call; the client process lives on and its next call succeeds", {
  skip: noPg,
  timeout: 60_000,
}, async (t) => {
  const url = pgUrl as string;
  const db = await tempSchema(url);
  const client = new Kernel({ store: db.store, workflows: ALL_WORKFLOWS, worker: false });
  const admin = new pg.Client({ connectionString: url });
  let proc: ChildProcess | null = null;
  try {
    const run = await client.start(mixed, { n: 3 }); // no worker: it stays pending, and accepts events
    await admin.connect();
    await admin.query(`SET search_path = ${db.schema}`);
    proc = spawn(process.execPath, [SENDER, url, db.schema, run.id], { stdio: ["ignore", "inherit", "pipe", "ipc"] });
    const p = proc;
    let stderr = "";
    p.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const exit = new Promise<{ code: number | null; signal: string | null }>((r) =>
      p.on("exit", (code, signal) => r({ code, signal })),
    );
    let exited: { code: number | null; signal: string | null } | null = null;
    void exit.then((e) => (exited = e));
    const messages: { type: string }[] = [];
    p.on("message", (m: { type: string }) => messages.push(m));
    await until(
      () => messages.some((m) => m.type === "ready") || exited !== null,
      "the client process to start",
      20_000,
    );
    assert.equal(exited, null, `the client process did not start: ${stderr}`);

    // The run's row is locked, so the client's sendEvent transaction waits inside the server: cut it there.
    await admin.query("BEGIN");
    await admin.query("SELECT 1 FROM runs WHERE id = $1 FOR UPDATE", [run.id]);
    p.send({ type: "send" });
    const waiting = async () =>
      (
        await admin.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", [
          (admin as unknown as { processID: number }).processID,
        ])
      ).rows;
    await until(
      async () => (await waiting()).length === 1,
      "the client's transaction to wait for the row lock",
      10_000,
    );
    const [victim] = await waiting();
    await admin.query("SELECT pg_terminate_backend($1)", [victim?.pid]);
    await until(
      () => messages.some((m) => m.type === "sent") || exited !== null,
      "the cut sendEvent to return",
      10_000,
    );
    await new Promise((r) => setTimeout(r, 300)); // a crash from the connection's late 'error' event comes just after
    assert.equal(
      exited,
      null,
      `the client process died when the server cut its connection mid-transaction (${JSON.stringify(exited)}): ${stderr.trim().split("\n").slice(0, 3).join(" | ")}`,
    );
    const first = messages.find((m) => m.type === "sent") as Sent;
    assert.equal(first.ok, false, `the cut call must fail, got ${JSON.stringify(first)}`);
    await admin.query("ROLLBACK");

    // The same process goes on: its next call gets a new connection and succeeds.
    p.send({ type: "send" });
    await until(
      () => messages.filter((m) => m.type === "sent").length === 2 || exited !== null,
      "the next sendEvent",
      10_000,
    );
    assert.equal(exited, null, `the client process died: ${stderr}`);
    const second = messages.filter((m) => m.type === "sent")[1] as Sent;
    assert.deepEqual(second, { type: "sent", ok: true, result: { delivered: true, runId: run.id } });
    const events = await db.store.query("SELECT event_id FROM events WHERE run_id = $1", [run.id]);
    assert.deepEqual(
      events.map((e) => e.event_id),
      ["e-2"],
      "the cut call delivered nothing; the next one delivered its event",
    );
    p.send({ type: "stop" });
    assert.equal((await within(exit, 10_000, "the client process to stop")).code, 0);
    t.diagnostic(JSON.stringify({ cutCall: first.error, nextCall: second.result }));
  } finally {
    if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    await admin.end().catch(() => {});
    await client.close();
    await db.drop();
  }
});
