/**
 * The Postgres case of the benchmark's store factory: every measurement gets a fresh schema (random
 * name, dropped after) on the server of DATABASE_URL, holding the kernel's own tables. The server's
 * limits are measured on the same tables with the plain `pg` client, as pgbench would: autocommit
 * single-row INSERT transactions from 1 and from N connections, plus batched inserts.
 */
import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { openPostgresStore } from "../packages/kernel/src/store/postgres/index.ts";
import {
  stepValue,
  summarize,
  type InsertRate,
  type LimitsConfig,
  type OpenedStore,
  type StoreFactory,
} from "./shared.ts";

/** host:port/database of a URL, never its password. */
export function where(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || "localhost"}:${u.port || "5432"}${u.pathname || "/"}`;
  } catch {
    return "(unparsable DATABASE_URL)";
  }
}

/**
 * A schema name for one measurement. Short on purpose: the store's NOTIFY channel is
 * `agentd_kernel_work_<schema>`, and Postgres refuses channel names of 64 bytes or more.
 */
export const freshSchema = (prefix = "bench"): string => `${prefix}_${randomBytes(6).toString("hex")}`;

const INSERT_SQL = `INSERT INTO entries (run_id, seq, kind, name, status, attempt, wake_at, value, error, ref, started_at, updated_at)
  VALUES ($1, $2, 'step', $3, 'completed', 1, NULL, $4, NULL, NULL, $5, $5)`;

/** Journal-entry rows like the throughput workflow's: runs of 10 steps, a random run id each. */
function rowMaker() {
  let run = randomUUID();
  let i = 0;
  return () => {
    const seq = (i % 10) + 1;
    if (seq === 1) run = randomUUID();
    const value = JSON.stringify(stepValue(i++, seq - 1));
    return { run, seq, name: `s${seq - 1}`, value, bytes: run.length + 8 + 4 + 2 + 9 + 8 + value.length + 16 };
  };
}

export async function postgresFactory(url: string, poolSize: number): Promise<StoreFactory> {
  const admin = new pg.Pool({ connectionString: url, max: 2 });
  admin.on("error", () => {});
  const live = new Set<string>();
  const dropSchema = async (schema: string) => {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    live.delete(schema);
  };
  const settings = Object.fromEntries(
    (
      await admin.query<{ name: string; setting: string; unit: string | null }>(
        `SELECT name, setting, unit FROM pg_settings WHERE name IN
           ('fsync', 'synchronous_commit', 'wal_sync_method', 'commit_delay', 'full_page_writes', 'shared_buffers', 'max_connections')`,
      )
    ).rows.map((r) => [r.name, r.unit && r.unit !== "" ? `${r.setting} ${r.unit}` : r.setting]),
  );
  const version = (await admin.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ?? "?";

  /** A fresh schema holding the kernel's tables (created by the store itself, then closed). */
  const kernelSchema = async (): Promise<string> => {
    const schema = freshSchema();
    live.add(schema);
    await (await openPostgresStore({ url, schema, poolSize: 1 })).close();
    return schema;
  };
  const client = async (schema: string): Promise<pg.Client> => {
    const c = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
    c.on("error", () => {});
    await c.connect();
    return c;
  };

  /** `connections` clients each running autocommit single-row inserts in a loop; counted for `secs` after a warm-up. */
  const insertRate = async (connections: number, secs: number): Promise<InsertRate & { rowBytes: number }> => {
    const schema = await kernelSchema();
    const clients = await Promise.all(Array.from({ length: connections }, () => client(schema)));
    const warmMs = Math.min(500, secs * 250);
    const t0 = performance.now();
    const from = t0 + warmMs;
    const to = from + secs * 1000;
    let counted = 0;
    let rowBytes = 0;
    const lat: number[] = [];
    await Promise.all(
      clients.map(async (c) => {
        const next = rowMaker();
        const now = Date.now();
        for (;;) {
          const t = performance.now();
          if (t >= to) break;
          const r = next();
          rowBytes = r.bytes;
          await c.query({ name: "bench_insert", text: INSERT_SQL, values: [r.run, r.seq, r.name, r.value, now] });
          const d = performance.now();
          if (t >= from && d <= to) {
            counted++;
            lat.push(d - t);
          }
        }
      }),
    );
    await Promise.all(clients.map((c) => c.end()));
    await dropSchema(schema);
    return { connections, tps: counted / secs, latency: summarize(lat), seconds: secs, rowBytes };
  };

  return {
    kind: "postgres",
    remote: true,
    describe: () => ({
      server: where(url),
      server_version: version,
      ...settings,
      pool_size: poolSize,
      schema: "fresh per measurement (random name, dropped after)",
    }),

    async open(label): Promise<OpenedStore> {
      void label;
      const schema = freshSchema();
      live.add(schema);
      const store = await openPostgresStore({ url, schema, poolSize });
      return {
        store,
        spec: { kind: "postgres", url, schema, poolSize },
        async progress() {
          const { rows } = await admin.query<{ completed: number; failed: number; last: string | null }>(
            `SELECT count(*) FILTER (WHERE status = 'completed')::int AS completed,
                    count(*) FILTER (WHERE status IN ('failed', 'cancelled'))::int AS failed,
                    max(completed_at) AS last FROM ${schema}.runs`,
          );
          const r = rows[0];
          return {
            completed: r?.completed ?? 0,
            failed: r?.failed ?? 0,
            lastCompletedAt: r?.last == null ? null : Number(r.last),
          };
        },
        async close() {
          await store.close();
          await dropSchema(schema);
        },
      };
    },

    async limits(cfg: LimitsConfig) {
      // One autocommit insert at a time on one connection: the latency of one durable commit.
      const schema = await kernelSchema();
      const c = await client(schema);
      const next = rowMaker();
      const commits: number[] = [];
      for (let k = 0; k < cfg.warmup + cfg.commits; k++) {
        const r = next();
        const t = performance.now();
        await c.query({ name: "bench_insert", text: INSERT_SQL, values: [r.run, r.seq, r.name, r.value, Date.now()] });
        if (k >= cfg.warmup) commits.push(performance.now() - t);
      }
      await c.end();
      await dropSchema(schema);

      // Batched: one multi-row INSERT of `batchSize` rows per transaction.
      const rates: number[] = [];
      let rowBytes = 0;
      for (let rep = 0; rep < cfg.batchReps; rep++) {
        const s = await kernelSchema();
        const b = await client(s);
        const mk = rowMaker();
        const batches = Math.ceil(cfg.batchRows / cfg.batchSize);
        const rows = Array.from({ length: batches }, () => Array.from({ length: cfg.batchSize }, () => mk()));
        const t = performance.now();
        for (const batch of rows) {
          await b.query({
            name: "bench_batch",
            text: `INSERT INTO entries (run_id, seq, kind, name, status, attempt, wake_at, value, error, ref, started_at, updated_at)
                   SELECT run_id, seq, 'step', name, 'completed', 1, NULL, value, NULL, NULL, $5, $5
                   FROM unnest($1::text[], $2::int[], $3::text[], $4::text[]) AS u(run_id, seq, name, value)`,
            values: [
              batch.map((r) => r.run),
              batch.map((r) => r.seq),
              batch.map((r) => r.name),
              batch.map((r) => r.value),
              Date.now(),
            ],
          });
        }
        rates.push((batches * cfg.batchSize) / ((performance.now() - t) / 1000));
        rowBytes = rows[0]?.[0]?.bytes ?? 0;
        await b.end();
        await dropSchema(s);
      }
      const rs = summarize(rates);

      const insertRates: InsertRate[] = [];
      for (const n of cfg.connections) {
        const { rowBytes: _bytes, ...r } = await insertRate(n, cfg.insertSecs);
        insertRates.push(r);
      }
      return {
        commitMs: summarize(commits),
        whatCommit:
          "raw pg client: one autocommit INSERT of a journal-entry row into the kernel's entries table (one transaction, WAL flushed), sequential on one connection",
        batchedRowsPerSec: rs.p50,
        batchedRowsPerSecRange: [rs.min, rs.max],
        whatBatched: `raw pg client: journal-entry rows into a fresh schema, ${cfg.batchSize} per transaction (one INSERT ... SELECT FROM unnest(...)), as many rows as the throughput run's journal; median of ${cfg.batchReps} schemas`,
        rowBytes,
        insertRates,
        details: { table: "entries (the kernel's own schema)", prepared: true, ...settings },
      };
    },

    async dispose() {
      for (const s of [...live]) await dropSchema(s).catch(() => {});
      await admin.end();
    },
  };
}
