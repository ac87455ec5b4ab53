/**
 * Postgres restarted under load: three worker processes run mixed workflows (steps, parallel steps,
 * sleeps, events, child runs, retries) that a client starts over ~16 s, while the server they share
 * is stopped twice for ~2.5 s (once with `pg_ctl -m fast`, once with `-m immediate`, a crash that
 * needs WAL recovery) and started again. The workers are never restarted: they must reconnect on
 * their own (pool and LISTEN connection) and finish every run. The client retries what failed with
 * the same idempotency key or event id. Nothing may be lost or doubled.
 *
 * The server is a throwaway cluster of this test (../shared/ci/postgres.sh on a free port), never the
 * shared one. Skipped when Debian's Postgres binaries (/usr/lib/postgresql/<v>/bin) are not there.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import test from "node:test";
import { fileURLToPath } from "node:url";
import { Kernel } from "../../src/index.ts";
import {
  claimLog,
  killAll,
  percentile,
  type Proc,
  prng,
  renewalStats,
  sleep,
  spawnWorker,
  tempSchema,
  until,
  within,
} from "./cluster.ts";
import { Load } from "./load.ts";
import { ALL_WORKFLOWS } from "./procs/workflows.ts";
import { checkMixedRuns } from "./verify.ts";

const SEED = Number(process.env.CLUSTER_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS = 600;
const LOAD_MS = 16_000;
const DOWN_MS = 2_500;
const LEASE_MS = 1_500;
const WORKERS = ["w1", "w2", "w3"];
const REPO = fileURLToPath(new URL("../../../../", import.meta.url));
const SCRIPT = resolve(REPO, "../shared/ci/postgres.sh");

/** Debian's server binaries, newest version first (what postgres.sh uses); null if none. */
function pgBin(): string | null {
  try {
    const versions = readdirSync("/usr/lib/postgresql").filter((v) =>
      existsSync(`/usr/lib/postgresql/${v}/bin/pg_ctl`),
    );
    versions.sort((a, b) => Number.parseFloat(a) - Number.parseFloat(b));
    return versions.length ? `/usr/lib/postgresql/${versions.at(-1)}/bin` : null;
  } catch {
    return null;
  }
}
const BIN = pgBin();
const skip = !BIN
  ? "no Postgres server binaries in /usr/lib/postgresql/<version>/bin (apt-get install postgresql): the Postgres restart test did not run"
  : !existsSync(SCRIPT)
    ? `${SCRIPT} not found: the Postgres restart test did not run`
    : false;

function sh(cmd: string, env: Record<string, string> = {}, timeoutMs = 120_000): Promise<string> {
  return new Promise((res, rej) =>
    execFile("bash", ["-c", cmd], { env: { ...process.env, ...env }, timeout: timeoutMs }, (e, stdout, stderr) =>
      e ? rej(new Error(`${cmd}: ${e.message}\n${stderr}`)) : res(stdout),
    ),
  );
}
/** As the script does: the server runs as "postgres" when we are root. */
const asPg = (cmd: string) =>
  process.getuid?.() === 0 ? sh(`su postgres -s /bin/bash -c ${JSON.stringify(cmd)}`) : sh(cmd);

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

interface Outage {
  mode: "fast" | "immediate";
  stopAt: number;
  downAt: number;
  upAt: number;
}

test("Postgres stopped and started twice under load (fast, then immediate): workers reconnect on their own, no run lost or doubled", {
  skip,
  timeout: 240_000,
}, async (t) => {
  const t0 = performance.now();
  const port = await freePort();
  const pgdata = join(tmpdir(), `agentd-cluster-pg-${port}-${randomBytes(4).toString("hex")}`);
  const env = { PGPORT: String(port), PGDATA_DIR: pgdata };
  const dir = mkdtempSync(join(tmpdir(), "agentd-restart-"));
  const procs: Proc[] = [];
  let db: Awaited<ReturnType<typeof tempSchema>> | null = null;
  let client: Kernel | null = null;
  let load: Load | null = null;
  try {
    const url = (await sh(`bash ${JSON.stringify(SCRIPT)} start`, env)).trim().split("\n").at(-1) as string;
    assert.match(url, /^postgres:\/\/.*:\d+\/test$/, `postgres.sh printed ${url}`);
    const bootMs = performance.now() - t0;
    db = await tempSchema(url);
    client = new Kernel({ store: db.store, workflows: ALL_WORKFLOWS, worker: false, onError: () => {} });
    for (const id of WORKERS)
      procs.push(
        spawnWorker({ url, schema: db.schema, id, log: join(dir, `log-${id}`), leaseMs: LEASE_MS, pollMs: 1_000 }),
      );
    await within(Promise.all(procs.map((p) => p.ready)), 60_000, "3 workers to start");
    const pids = procs.map((p) => p.pid);

    load = new Load(client, { runs: RUNS, overMs: LOAD_MS, rand: prng(SEED), retry: true });
    let loadError: unknown = null;
    load.done.catch((e) => (loadError = e));
    const outages: Outage[] = [];
    for (const [at, mode] of [
      [3_500, "fast"],
      [10_000, "immediate"],
    ] as const) {
      await sleep(at - (performance.now() - t0 - bootMs));
      if (loadError) throw loadError;
      const stopAt = Date.now();
      await asPg(`'${BIN}/pg_ctl' -D '${pgdata}' -m ${mode} -w stop`);
      const downAt = Date.now();
      await sleep(DOWN_MS);
      await sh(`bash ${JSON.stringify(SCRIPT)} start`, env); // pg_ctl start with the script's options
      outages.push({ mode, stopAt, downAt, upAt: Date.now() });
      for (const p of procs)
        assert.equal(p.exited, false, `worker ${p.id} died when the server went away (${mode}): ${p.stderr.join("")}`);
    }
    await load.done;
    const loadMs = performance.now() - t0;

    // ---- the same worker processes finish everything, and listen again ----
    const open = async () =>
      (
        await db!.store.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM runs WHERE status NOT IN ('completed', 'failed', 'cancelled')",
        )
      )[0]?.n;
    await until(
      async () => (await open()) === 0,
      "every run to end after the restarts",
      90_000,
      async () => {
        const rows = await db!.store.query(
          "SELECT id, workflow, status, wake_at, lease_owner, lease_expires_at, epoch FROM runs WHERE status NOT IN ('completed', 'failed', 'cancelled') LIMIT 5",
        );
        return `${await open()} runs open, e.g. ${JSON.stringify(rows)} (now ${Date.now()})`;
      },
    );
    const finishMs = performance.now() - t0 - loadMs;
    const listening = async () =>
      (
        await db!.store.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query ILIKE $1", [
          `LISTEN %${db!.schema}%`,
        ])
      )[0]?.n;
    await until(
      async () => (await listening()) === WORKERS.length,
      "every worker to LISTEN again",
      15_000,
      async () => `${await listening()} LISTEN connections`,
    );
    assert.deepEqual(
      procs.map((p) => p.pid),
      pids,
      "the workers were never restarted",
    );
    const renewals = await renewalStats(procs);
    for (const p of procs) {
      assert.equal(p.exited, false, `worker ${p.id} (pid ${p.pid}) died: ${p.stderr.join("")}`);
      assert.equal((await p.stop()).code, 0, `worker ${p.id} exited badly: ${p.stderr.join("")}`);
    }

    // ---- nothing lost or doubled; every re-run of a body is explained by an outage ----
    // A body may run again when the server went away before its result was recorded, or while the lease it ran
    // under lapsed (renewals fail while the server is down); after the restart, leases are taken over within a few.
    const report = await checkMixedRuns(db.store, RUNS, dir, (prev, next) => {
      const o = outages.find((x) => next.at >= x.stopAt && prev.at <= x.upAt + 3 * LEASE_MS);
      return o ? `server stopped (${o.mode})` : null;
    });
    const claims = await claimLog(db.store);
    const takeovers = claims.filter((c) => c.old_status === "running");
    for (const c of takeovers)
      if (c.old_lease_expires_at === null || c.claimed_at < c.old_lease_expires_at)
        report.problems.push(
          `run ${c.run_id} was taken from ${c.old_owner} by ${c.new_owner} at ${c.claimed_at}, before its lease expired at ${c.old_lease_expires_at}`,
        );
    const errorsLogged = procs.map(
      (p) =>
        p.stderr
          .join("")
          .split("\n")
          .filter((l) => l.includes("kernel error")).length,
    );
    const { problems, ...counts } = report;
    const figures = {
      seed: SEED,
      ...counts,
      outages: outages.map((o) => ({ mode: o.mode, stopMs: o.downAt - o.stopAt, downMs: o.upAt - o.downAt })),
      takeovers: takeovers.length,
      takeoverAfterLeaseExpiryMs: {
        p50: percentile(
          takeovers.map((c) => c.claimed_at - (c.old_lease_expires_at ?? 0)),
          50,
        ),
      },
      clientRetries: load.stats.retried,
      clientFirstError: load.stats.firstError?.slice(0, 120),
      eventsSent: load.stats.eventsSent,
      duplicateEventsRefused: load.stats.duplicatesRefused,
      workerErrorsLogged: errorsLogged,
      renewals,
      bootMs: Math.round(bootMs),
      loadMs: Math.round(loadMs),
      finishMs: Math.round(finishMs),
      totalMs: Math.round(performance.now() - t0),
    };
    console.log(`cluster pg-restart figures: ${JSON.stringify(figures)}`);
    t.diagnostic(JSON.stringify(figures));
    if (problems.length) {
      // The claim history of the runs named first, to read a failure.
      const ids = [
        ...new Set(
          problems
            .slice(0, 3)
            .flatMap((p) => p.match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g) ?? []),
        ),
      ];
      t.diagnostic(
        `outages: ${JSON.stringify(outages)}\nclaims of ${ids.join(", ")}: ${JSON.stringify(claims.filter((c) => ids.includes(c.run_id)))}`,
      );
    }
    assert.deepEqual(problems.slice(0, 30), [], `${problems.length} problems (seed ${SEED})`);
    assert.ok(load.stats.retried > 0, "the client never saw the server down: the outages missed the load");
  } finally {
    load?.abort();
    await load?.done.catch(() => {});
    await killAll(procs);
    await client?.close();
    await db?.drop().catch(() => {});
    await sh(`bash ${JSON.stringify(SCRIPT)} stop`, env).catch((e) => console.error(`postgres.sh stop: ${e}`));
    rmSync(pgdata, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});
