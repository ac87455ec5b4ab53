import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createAgentd } from "../src/app.ts";
import { serveApi } from "../src/api/index.ts";
import { openDb } from "../src/db/index.ts";
import { sessions } from "../src/sessions/store.ts";
import { quotas, type RunPhase } from "../src/tenancy/quotas.ts";
import { TenantScope } from "../src/tenancy/scope.ts";
import { served } from "./support/api.ts";
import { BACKENDS } from "./support/backends.ts";

type Served = Awaited<ReturnType<typeof served>>;

/** A second agentd process's worth (its own app, kernel and API server) on the same data, as another machine would run it. */
async function another(t: { after(fn: () => unknown): void }, s: Served) {
  const app = await createAgentd({
    env: {},
    config: {
      ...s.place,
      adminToken: "admin-test-token",
      model: { id: "stand-in", baseURL: s.model.url, apiKey: "test-key" },
    },
    tools: [],
    logger: () => {},
  });
  await app.start();
  const server = await serveApi(app, { host: "127.0.0.1", port: 0 });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await server.close();
    await app.close();
  };
  t.after(close);
  const post = async (text: string) => {
    const res = await fetch(`${server.url}/v1/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${s.key}`, "content-type": "application/json" },
      body: JSON.stringify({ text, conversation: text }),
    });
    return { status: res.status, body: (await res.json()) as any, headers: res.headers };
  };
  return { app, post, close };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const post = (s: Served, text: string) => s.call("POST", "/v1/messages", { body: { text, conversation: text } });

for (const b of BACKENDS) {
  describe(`quotas counted in the store (${b.name})`, () => {
    test("a refused message stores nothing: no session, no message, no turn (Postgres admits it in the statement that stores it)", async (t) => {
      const s = await served(t, b, { tenantSettings: { runsPerMinute: 1 } });
      const first = await s.call("POST", "/v1/messages", { body: { text: "one", conversation: "kept" } });
      assert.equal(first.status, 202);
      await s.app.kernel.result(first.body.runId);
      const refused = await s.call("POST", "/v1/messages", { body: { text: "two", conversation: "new" } });
      assert.equal(refused.status, 429);
      assert.equal(refused.body.error.code, "rate_limited");
      const again = await s.call("POST", "/v1/messages", { body: { text: "three", conversation: "kept" } });
      assert.equal(again.status, 429);
      const scope = s.app.tenants.scope(s.tenantId);
      assert.equal(await sessions.find(scope, "http", "new"), null, "no session made for a refused message");
      const kept = await sessions.find(scope, "http", "kept");
      assert.deepEqual(
        (await sessions.history(scope, kept!.id)).filter((m) => m.role === "user").map((m) => m.content),
        ["one"],
      );
      const admissions = await scope.all<{ run_id: string | null }>(
        "SELECT run_id FROM os_admissions WHERE tenant_id = $tenant",
      );
      assert.deepEqual(
        admissions.map((a) => a.run_id),
        [first.body.runId],
        "a refusal counts nothing",
      );
    });

    test("runsPerMinute holds across two processes and a restart", async (t) => {
      const s = await served(t, b, { tenantSettings: { runsPerMinute: 3 } });
      const two = await another(t, s);
      assert.equal((await post(s, "one")).status, 202);
      assert.equal((await two.post("two")).status, 202);
      assert.equal((await post(s, "three")).status, 202);
      const refused = await two.post("four");
      assert.equal(refused.status, 429, "the other process counted the first three");
      assert.equal(refused.body.error.code, "rate_limited");
      const after = Number(refused.headers.get("retry-after"));
      assert.ok(after >= 1 && after <= 60, `Retry-After ${after}`);
      await two.close();
      const three = await another(t, s);
      assert.equal((await three.post("five")).status, 429, "a restarted process still counts them");
    });

    test("concurrentRuns: of twenty messages at once through two processes, exactly the limit start", async (t) => {
      const s = await served(t, b, { tenantSettings: { concurrentRuns: 3, runsPerMinute: 1000 } });
      s.model.fallback = () => ({ text: "slow answer", firstTokenDelayMs: 3_000 });
      const two = await another(t, s);
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? two.post(`m${i}`) : post(s, `m${i}`))),
      );
      assert.equal(answers.filter((a) => a.status === 202).length, 3, answers.map((a) => a.status).join(","));
      const refused = answers.find((a) => a.status === 429)!;
      assert.equal(refused.body.error.code, "too_many_runs");
      assert.match(refused.body.error.message, /3 runs in progress.*concurrentRuns setting is 3/);
      const accepted = answers.filter((a) => a.status === 202).map((a) => a.body.runId as string);
      for (const id of accepted) await s.app.kernel.result(id);
      assert.equal((await post(s, "after")).status, 202, "finished runs free their places");
    });

    test("the per-minute count expires with its minute; an admission is counted until its run ends, or 30 s if it never got one", async (t) => {
      const s = await served(t, b);
      const scope = s.app.tenants.scope(s.tenantId);
      const phases = new Map<string, RunPhase>([
        ["r1", "active"],
        ["r2", "active"],
      ]);
      const phaseOf = async (id: string) => phases.get(id) ?? "ended";
      const t0 = 1_700_000_000_000;
      await (await quotas.admit(scope, { runsPerMinute: 2, concurrentRuns: 10 }, t0, phaseOf)).bind("r1");
      await (await quotas.admit(scope, { runsPerMinute: 2, concurrentRuns: 10 }, t0 + 30_000, phaseOf)).bind("r2");
      await assert.rejects(
        quotas.admit(scope, { runsPerMinute: 2, concurrentRuns: 10 }, t0 + 59_000, phaseOf),
        (e: { retryAfterS: number }) => e.retryAfterS === 1,
      );
      await (await quotas.admit(scope, { runsPerMinute: 2, concurrentRuns: 10 }, t0 + 60_000, phaseOf)).drop();
      // r1 runs, r2 waits for a person: one place taken of two.
      const t1 = t0 + 200_000;
      phases.set("r2", "waiting");
      const third = await quotas.admit(scope, { runsPerMinute: 100, concurrentRuns: 2 }, t1, phaseOf);
      await assert.rejects(
        quotas.admit(scope, { runsPerMinute: 100, concurrentRuns: 2 }, t1 + 1_000, phaseOf),
        /2 runs in progress/,
      );
      // A process that died before starting its run: its admission expires.
      await assert.rejects(
        quotas.admit(scope, { runsPerMinute: 100, concurrentRuns: 2 }, t1 + 29_000, phaseOf),
        /2 runs in progress/,
      );
      await (await quotas.admit(scope, { runsPerMinute: 100, concurrentRuns: 2 }, t1 + 30_000, phaseOf)).drop();
      await third.drop();
      phases.set("r1", "ended");
      await (await quotas.admit(scope, { runsPerMinute: 100, concurrentRuns: 1 }, t1 + 31_000, phaseOf)).drop();
      assert.deepEqual(
        (await scope.all<{ run_id: string }>("SELECT run_id FROM os_admissions WHERE tenant_id = $tenant", [])).map(
          (r) => r.run_id,
        ),
        ["r2"],
        "ended runs' admissions are removed",
      );
    });
    test("an admission is one statement below the limit, asking the kernel nothing; at it, the bound runs' phases are read at once", async (t) => {
      const s = await served(t, b);
      // On Postgres a handle of its own, so that the app's own statements meanwhile are not counted. Not on
      // SQLite: a second handle in this process would block the event loop waiting for the file's lock.
      const db = b.name === "postgres" ? await openDb(s.place) : s.app.db;
      if (db !== s.app.db) t.after(() => db.close());
      const scope = new TenantScope(db, s.tenantId);
      const phases = new Map<string, RunPhase>(["r1", "r2", "r3", "r4"].map((id) => [id, "active"]));
      let inFlight = 0;
      let most = 0;
      let asked = 0;
      const phaseOf = async (id: string) => {
        asked++;
        most = Math.max(most, ++inFlight);
        await sleep(5);
        inFlight--;
        return phases.get(id) ?? "ended";
      };
      const t0 = 1_700_000_000_000;
      const limits = { runsPerMinute: 100, concurrentRuns: 10 };
      for (const id of phases.keys()) await (await quotas.admit(scope, limits, t0, phaseOf)).bind(id);
      await quotas.admit(scope, limits, t0 + 1_000, phaseOf); // left unbound: counted as starting
      phases.set("r2", "waiting");
      phases.set("r3", "ended");
      phases.set("r4", "ended");
      const before = { ...db.stats };
      await quotas.admit(scope, limits, t0 + 2_000, phaseOf);
      const admitted = db.stats.statements - before.statements;
      assert.equal(asked, 0, "five places of ten taken at most: the kernel is not asked");
      // Six admissions of three places: r1 runs, the two unbound start; r2 waits, r3 and r4 ended.
      const before2 = { ...db.stats };
      await assert.rejects(
        quotas.admit(scope, { ...limits, concurrentRuns: 3 }, t0 + 3_000, phaseOf),
        /3 runs in progress.*concurrentRuns setting is 3/,
      );
      const refused = db.stats.statements - before2.statements;
      t.diagnostic(JSON.stringify({ admitted, refused, phasesAtOnce: most }));
      // Postgres: the function, one round trip a pass; refused: a pass, the phases, a pass that knows them.
      if (b.name === "postgres") assert.deepEqual({ admitted, refused }, { admitted: 1, refused: 2 });
      assert.equal(most, 4, "the four bound runs' phases were read at once");
      const left = await scope.all<{ run_id: string | null }>(
        "SELECT run_id FROM os_admissions WHERE tenant_id = $tenant ORDER BY at, run_id",
        [],
      );
      assert.deepEqual(
        left.map((r) => r.run_id),
        ["r1", "r2", null, null],
        "ended runs' admissions are removed",
      );
      const rate = await scope.all<{ n: number }>(
        "SELECT n FROM os_rate WHERE tenant_id = $tenant ORDER BY second",
        [],
      );
      assert.deepEqual(
        rate.map((r) => Number(r.n)),
        [4, 1, 1],
        "a refusal counts nothing",
      );
    });

    test("two processes racing for the last place, round after round: exactly one wins each time, quickly", {
      timeout: 60_000,
    }, async (t) => {
      const s = await served(t, b);
      // On Postgres a second pool, as another process has. SQLite's are synchronous underneath: a second
      // handle in this process would block the event loop waiting for the file lock the first holds, so
      // both race through one handle there (its transactions are serial, as its file lock makes them across processes).
      const other = b.name === "postgres" ? await openDb(s.place) : s.app.db;
      if (other !== s.app.db) t.after(() => other.close());
      const scopes = [s.app.tenants.scope(s.tenantId), new TenantScope(other, s.tenantId)];
      const phaseOf = async (_id: string): Promise<RunPhase> => {
        await sleep(2); // widens the window in which the two transactions overlap
        return "active";
      };
      const t0 = 1_700_000_000_000;
      const race = (limits: { runsPerMinute: number; concurrentRuns: number }) =>
        Promise.all(
          scopes.map((scope) =>
            quotas.admit(scope, limits, t0, phaseOf).then(
              (a) => ({ ok: true as const, a }),
              (e: { code?: string; retryAfterS?: number }) => ({ ok: false as const, e }),
            ),
          ),
        );
      const started = performance.now();
      const rounds = 10;
      for (let i = 0; i < rounds; i++) {
        const out = await race({ runsPerMinute: 1000, concurrentRuns: i + 1 });
        const won = out.filter((o) => o.ok);
        assert.equal(won.length, 1, `round ${i}: ${JSON.stringify(out.map((o) => o.ok || o.e.code))}`);
        const lost = out.find((o) => !o.ok)!;
        assert.equal(!lost.ok && lost.e.code, "too_many_runs");
        if (won[0]!.ok) await won[0]!.a.bind(`r${i}`);
      }
      for (let i = 0; i < rounds; i++) {
        const out = await race({ runsPerMinute: rounds + i + 1, concurrentRuns: 1000 });
        assert.equal(out.filter((o) => o.ok).length, 1, `rate round ${i}`);
        const lost = out.find((o) => !o.ok)!;
        assert.ok(!lost.ok && lost.e.code === "rate_limited" && lost.e.retryAfterS === 60, JSON.stringify(lost));
      }
      const ms = performance.now() - started;
      t.diagnostic(`${rounds * 2} races in ${ms.toFixed(0)} ms`);
      assert.ok(ms < 20_000, `${ms} ms: a race waited on a lock far longer than its transaction`);
      const counted = await scopes[0]!.all<{ n: number }>("SELECT n FROM os_rate WHERE tenant_id = $tenant", []);
      assert.deepEqual(
        counted.map((r) => Number(r.n)),
        [rounds * 2],
        "each winner counted once, no loser counted",
      );
    });
  });
}
