import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { FakeClock, Kernel, type DrainReport, workflow } from "../src/index.ts";
import { createFetchHandler } from "../src/serverless/index.ts";
import { BACKENDS } from "./backends.ts";
import { closes, tempStore } from "./helpers.ts";

const run = promisify(execFile);
const DRAIN = new URL("./procs/drain.ts", import.meta.url).pathname;

for (const backend of BACKENDS)
  describe(backend.name, () => {
    test("a run with a one-hour durable sleep and 50 steps is driven to the end by 1 s drains, each in a fresh process", async (t) => {
      const { store, where } = await tempStore(t, backend);
      const dir = mkdtempSync(join(tmpdir(), "agentd-drain-"));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      const log = join(dir, "bodies.log");
      writeFileSync(log, "");
      let now = Date.UTC(2026, 0, 1);
      const long = workflow("long", async () => 0);
      const client = closes(t, new Kernel({ store, workflows: [long], clock: new FakeClock(now), worker: false }));
      const r = await client.start("long", 50);
      const [url, schema] = backend.name === "sqlite" ? [where, "-"] : where.split(" schema ");
      const reports: DrainReport[] = [];
      for (let i = 0; i < 40 && (await client.getRun(r.id))?.status !== "completed"; i++) {
        const { stdout } = await run(process.execPath, [
          DRAIN,
          backend.name,
          url as string,
          schema as string,
          String(now),
          log,
        ]);
        reports.push(JSON.parse(stdout) as DrainReport);
        now += 10 * 60_000; // ten minutes of test time between invocations
      }
      assert.equal(await client.result(r.id), (49 * 50) / 2);
      assert.ok(
        reports.every((x) => x.ms < 1_000),
        `every drain returned within its budget: ${reports.map((x) => x.ms).join(", ")} ms`,
      );
      // 25 steps of 40 ms do not fit a 1 s budget: each half of the run takes two drains, and the hour-long sleep spans five more.
      assert.ok(reports.length >= 9, `${reports.length} drains`);
      const journal = await client.journal(r.id);
      assert.equal(journal.filter((e) => e.kind === "step" && e.status === "completed").length, 50);
      assert.deepEqual(journal.find((e) => e.kind === "sleep")?.status, "completed");
      // Each step body ran at least once; a second run of one only happened to a step cut short at a budget's end.
      const bodies = readFileSync(log, "utf8")
        .trim()
        .split("\n")
        .map((l) => Number(l.split(" ")[0]));
      for (let i = 0; i < 50; i++) assert.ok(bodies.includes(i), `step ${i} ran`);
      const handedBack = reports.reduce((a, x) => a + x.handedBack, 0);
      assert.ok(handedBack >= 2, `runs handed back at a budget's end: ${handedBack}`);
      assert.ok(bodies.length - 50 <= handedBack, `${bodies.length - 50} extra step runs, ${handedBack} hand-backs`);
      t.diagnostic(
        JSON.stringify({
          drains: reports.length,
          ms: reports.map((x) => x.ms),
          handedBack,
          extraBodies: bodies.length - 50,
        }),
      );
    });
  });

describe("fetch handler", () => {
  const secret = "a-long-enough-test-secret";
  const auth = { authorization: `Bearer ${secret}` };
  const greet = workflow("greet", async (ctx, name: string) => {
    const answer = await ctx.waitForEvent<string>("answer", { timeout: "1h" });
    return ctx.step("say", ({ publish }) => {
      publish("Hello");
      publish(name);
      return `${answer}, ${name}`;
    });
  });

  test("start, status, events and the stream over Web-standard Requests; tick drains", async (t) => {
    const { store } = await tempStore(t);
    const kernel = closes(t, new Kernel({ store, workflows: [greet], onError: () => {} }));
    const handler = createFetchHandler(kernel, { secret, basePath: "/api/kernel" });
    const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = auth) =>
      handler(
        new Request(`http://x/api/kernel${path}`, {
          method,
          headers: { ...headers, "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        }),
      );
    const started = await call("POST", "/runs", { workflow: "greet", input: "ada", key: "k1" });
    assert.equal(started.status, 201);
    const { id } = (await started.json()) as { id: string };
    assert.equal(
      (await call("POST", "/runs", { workflow: "greet", input: "ada", key: "k1" })).status,
      200,
      "same key: the same run",
    );
    assert.equal((await call("POST", `/runs/${id}/events/answer`, { payload: "hi", eventId: "e1" })).status, 202);
    const tick = await call("POST", "/tick", { budgetMs: 2_000 });
    assert.equal(tick.status, 200);
    const report = (await tick.json()) as DrainReport;
    assert.ok(report.finished >= 1 && report.ms < 2_000);
    const status = (await (await call("GET", `/runs/${id}`)).json()) as { status: string; output: string };
    assert.deepEqual([status.status, status.output], ["completed", "hi, ada"]);
    const sse = await call("GET", `/runs/${id}/stream?from=1`);
    assert.equal(sse.headers.get("content-type"), "text/event-stream");
    const text = await sse.text();
    assert.match(text, /id: 1\ndata: "Hello"\n\nid: 2\ndata: "ada"\n\nevent: end/);
    const resumed = await (
      await call("GET", `/runs/${id}/stream`, undefined, { ...auth, "last-event-id": "1" })
    ).text();
    assert.match(resumed, /^id: 2\ndata: "ada"/, "Last-Event-ID resumes after the last chunk seen");
  });

  test("bad requests get 400, 401, 404 and 413 with reasons, and change nothing", async (t) => {
    const { store } = await tempStore(t);
    const kernel = closes(t, new Kernel({ store, workflows: [greet], onError: () => {}, maxValueBytes: 1_000 }));
    const handler = createFetchHandler(kernel, { secret, maxBodyBytes: 10_000 });
    const req = (method: string, path: string, body?: string, headers: Record<string, string> = auth) =>
      handler(new Request(`http://x${path}`, { method, headers, body }));
    const expect = async (res: Response, status: number, re: RegExp) => {
      assert.equal(res.status, status);
      const j = (await res.json()) as { message: string };
      assert.match(j.message, re);
    };
    await expect(await req("POST", "/tick", undefined, {}), 401, /Authorization: Bearer/);
    await expect(
      await req("POST", "/tick", undefined, { authorization: "Bearer wrong-secret-of-any-length" }),
      401,
      /Bearer/,
    );
    await expect(await req("POST", "/runs", "{not json"), 400, /not valid JSON/);
    await expect(await req("POST", "/runs", JSON.stringify({ input: 1 })), 400, /"workflow"/);
    await expect(await req("POST", "/runs", JSON.stringify({ workflow: "nope" })), 404, /not registered/);
    await expect(await req("POST", "/runs", "x".repeat(20_000)), 413, /at most 10000|over 10000/);
    await expect(await req("GET", "/runs/missing"), 404, /no run with id missing/);
    await expect(await req("GET", "/runs/missing/stream"), 404, /no run with id missing/);
    const id = (
      (await (await req("POST", "/runs", JSON.stringify({ workflow: "greet", input: "x" }))).json()) as { id: string }
    ).id;
    await expect(await req("GET", `/runs/${id}/stream?from=7`), 400, /has no chunk at position 7/);
    await expect(await req("GET", `/runs/${id}/stream?from=abc`), 400, /whole number/);
    await expect(
      await req("POST", `/runs/${id}/events/answer`, JSON.stringify({ payload: "y".repeat(5_000) })),
      413,
      /over the limit of 1000 bytes/,
    );
    await expect(await req("POST", "/tick", JSON.stringify({ budgetMs: 5 })), 400, /budgetMs between 50 and 900000/);
    assert.deepEqual(await store.loadEvents(id), [], "no event was stored");
    assert.equal((await kernel.listRuns()).length, 1, "no run but the one started");
  });
});
