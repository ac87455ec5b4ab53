import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import pg from "pg";
import { Kernel, workflow } from "../src/index.ts";
import { openPostgresStore } from "../src/store/postgres/index.ts";
import type { WriteGroup } from "../src/store/types.ts";
import { pgUrl } from "./backends.ts";

/**
 * The work one commit costs the server, counted rather than timed (timings move with the machine's
 * load): a 3-step run is four calls of kernel_commit, and each statement inside one is a round of the
 * executor and often a WAL record. The counts pin what version 7 removed (a separate lock pass for a
 * batch of one run, a query per loop over the groups and their writes, the read-back of a run inserted
 * claimed, an upsert where an update suffices, the parent and lane looked up for a run with neither).
 * The run's end also appends one row for /metrics' count of ended runs (migration 8's trigger).
 */
const skip = pgUrl ? false : "no Postgres reachable";

test("postgres: a 3-step run's four commits run 2, 3, 3 and 4 statements inside kernel_commit (the last appends the ended run's count), and write the journal", {
  skip,
  timeout: 120_000,
}, async (t) => {
  const url = pgUrl as string;
  const schemas = [`t_cost_${randomBytes(4).toString("hex")}`, `t_cost_${randomBytes(4).toString("hex")}`];
  const [live, replay] = await Promise.all(schemas.map((schema) => openPostgresStore({ url, schema, poolSize: 2 })));
  const c = new pg.Client({ connectionString: url, options: `-c search_path=${schemas[1]}` });
  await c.connect();
  let kernel: Kernel | null = null;
  t.after(async () => {
    await kernel?.close();
    await live?.close();
    await replay?.close();
    for (const s of schemas) await c.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    await c.end();
  });

  // The groups a real kernel commits for one run, as the committer hands them to the store.
  const store = live as NonNullable<typeof live>;
  const commits: WriteGroup[][] = [];
  const commit = store.commit.bind(store);
  store.commit = (groups, now) => {
    commits.push(structuredClone(groups));
    return commit(groups, now);
  };
  const wf = workflow("cost.seq3", async (ctx) => {
    let sum = 0;
    for (let s = 0; s < 3; s++) sum += await ctx.step(`s${s}`, () => s);
    return sum;
  });
  kernel = new Kernel({ store, workflows: [wf] }).startWorker();
  assert.equal(await (await kernel.start(wf, null)).result(), 3);
  assert.equal(commits.length, 4, "one commit per step's start, the insert riding on the first, the end on the last");

  // The same calls on an empty schema, with every statement the function runs reported (auto_explain).
  const statements: string[][] = [];
  c.on("notice", (n) => {
    const text = /Query Text: ([^\n]*)/.exec(n.message ?? "")?.[1];
    if (text && !text.startsWith("SELECT kernel_commit")) statements.at(-1)?.push(text.trim());
  });
  await c.query("LOAD 'auto_explain'");
  await c.query(
    "SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on; SET auto_explain.log_level = notice; SET client_min_messages = notice",
  );
  for (const groups of commits) {
    statements.push([]);
    const { rows } = await c.query<{ r: { ok: boolean }[] }>("SELECT kernel_commit($1::jsonb, $2, 'cost_test') AS r", [
      JSON.stringify(groups),
      Date.now(),
    ]);
    assert.deepEqual(rows[0]?.r, [{ ok: true }], JSON.stringify(groups));
  }
  await c.query("SET auto_explain.log_min_duration = -1");
  const counts = statements.map((s) => s.length);
  assert.deepEqual(counts, [2, 3, 3, 4], statements.map((s, i) => `commit ${i + 1}:\n  ${s.join("\n  ")}`).join("\n"));

  // What they wrote is the journal of a completed run: each step's result in place of its start.
  const run = (await c.query("SELECT status, output, epoch, lease_owner FROM runs")).rows;
  assert.deepEqual(run, [{ status: "completed", output: "3", epoch: 1, lease_owner: null }]);
  const entries = (await c.query("SELECT seq, name, status, value FROM entries ORDER BY seq")).rows;
  assert.deepEqual(entries, [
    { seq: 1, name: "s0", status: "completed", value: "0" },
    { seq: 2, name: "s1", status: "completed", value: "1" },
    { seq: 3, name: "s2", status: "completed", value: "2" },
  ]);
});

test("postgres: a laned run inserted claimed is fenced by its insert (no read-back), and its commits answer its lane's end stamps", {
  skip,
  timeout: 120_000,
}, async (t) => {
  const url = pgUrl as string;
  const schemas = [`t_cost_${randomBytes(4).toString("hex")}`, `t_cost_${randomBytes(4).toString("hex")}`];
  const [live, replay] = await Promise.all(schemas.map((schema) => openPostgresStore({ url, schema, poolSize: 2 })));
  const c = new pg.Client({ connectionString: url, options: `-c search_path=${schemas[1]}` });
  await c.connect();
  let kernel: Kernel | null = null;
  t.after(async () => {
    await kernel?.close();
    await live?.close();
    await replay?.close();
    for (const s of schemas) await c.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    await c.end();
  });
  const store = live as NonNullable<typeof live>;
  const commits: WriteGroup[][] = [];
  const commit = store.commit.bind(store);
  store.commit = (groups, now) => {
    commits.push(structuredClone(groups));
    return commit(groups, now);
  };
  const wf = workflow(
    "cost.lane",
    async (ctx) => {
      let sum = 0;
      for (let s = 0; s < 3; s++) sum += await ctx.step(`s${s}`, () => s);
      return sum;
    },
    { concurrency: { key: () => "session", limit: 1 } },
  );
  kernel = new Kernel({ store, workflows: [wf] }).startWorker();
  for (let n = 0; n < 2; n++) assert.equal(await (await kernel.start(wf, null)).result(), 3);
  assert.equal(commits.length, 8, "four commits a run, as without a lane");

  const statements: string[][] = [];
  c.on("notice", (n) => {
    const text = /Query Text: ([^\n]*)/.exec(n.message ?? "")?.[1];
    if (text && !text.startsWith("SELECT kernel_commit")) statements.at(-1)?.push(text.trim());
  });
  await c.query("LOAD 'auto_explain'");
  await c.query(
    "SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on; SET auto_explain.log_level = notice; SET client_min_messages = notice",
  );
  const results: unknown[] = [];
  for (const groups of commits) {
    statements.push([]);
    const { rows } = await c.query<{ r: unknown[] }>("SELECT kernel_commit($1::jsonb, $2, 'cost_test') AS r", [
      JSON.stringify(groups),
      Date.now(),
    ]);
    results.push(rows[0]?.r);
  }
  await c.query("SET auto_explain.log_min_duration = -1");
  const said = statements.map((s, i) => `commit ${i + 1}:\n  ${s.join("\n  ")}`).join("\n");
  // The second run's insert: no run of its lane locked and read back after it is inserted.
  assert.ok(!statements[4]?.some((s) => /FOR UPDATE/i.test(s)), said);
  // Its insert: the lane's lock, its count of unfinished runs with its stamp, the row, step 1's marker.
  // Its end: the fence, step 3's result, the ended run's count, the run, the lane's lock, its stamp, the
  // next queued run admitted (the first end of a lane makes its stamp's row: one more).
  assert.deepEqual(
    statements.map((s) => s.length),
    [4, 3, 3, 8, 4, 3, 3, 7],
    said,
  );
  // The first run found its lane never ended; its end stamped it, and the second run's insert found that stamp.
  const stamp = (results[3] as { laneEnd: number }[])[0]?.laneEnd;
  assert.equal(typeof stamp, "number", JSON.stringify(results));
  assert.deepEqual(results[0], [{ ok: true }]);
  assert.deepEqual(results[4], [{ ok: true, laneSeen: stamp }]);
  assert.ok(((results[7] as { laneEnd: number }[])[0]?.laneEnd ?? 0) > (stamp as number), "a later stamp");
});
