import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { openDb, type Db } from "../../src/db/index.ts";

/**
 * Where agentd's tests keep data: a fresh SQLite folder, or a fresh schema on a real Postgres.
 * `place` describes it for the app (dataDir always; databaseUrl + pgSchema on Postgres).
 */
export interface Place {
  dataDir: string;
  databaseUrl?: string;
  pgSchema?: string;
}

export interface Backend {
  name: "sqlite" | "postgres";
  /** A fresh, empty place, removed after the test. */
  place(t: { after(fn: () => unknown): void }): Place;
  /** A fresh place with the OS data store opened on it (closed after the test). */
  db(t: { after(fn: () => unknown): void }): Promise<{ db: Db; place: Place }>;
}

const DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/test";

/**
 * The Postgres to test against: DATABASE_URL, else a local default if one answers; null if none is reachable.
 * A laptop with none refuses the connection at once; the timeout is for a busy machine's slow answer, which must
 * not quietly drop a file's Postgres half (at load 10 a half-second one did).
 */
export const pgUrl: string | null = await (async () => {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL; // CI sets it: tests must run and fail loudly if it is down
  const c = new pg.Client({ connectionString: DEFAULT_PG, connectionTimeoutMillis: 5_000 });
  try {
    await c.connect();
    return DEFAULT_PG;
  } catch {
    return null;
  } finally {
    await c.end().catch(() => {});
  }
})();

function tempDir(t: { after(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), "agentd-os-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function withDb(t: { after(fn: () => unknown): void }, place: Place) {
  const db = await openDb(place);
  t.after(() => db.close());
  return { db, place };
}

export const sqlite: Backend = {
  name: "sqlite",
  place: (t) => ({ dataDir: tempDir(t) }),
  db(t) {
    return withDb(t, this.place(t));
  },
};

export const postgres: Backend = {
  name: "postgres",
  place(t) {
    const schema = `os_${randomBytes(6).toString("hex")}`;
    t.after(async () => {
      const c = new pg.Client({ connectionString: pgUrl as string });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    });
    return { dataDir: tempDir(t), databaseUrl: pgUrl as string, pgSchema: schema };
  },
  db(t) {
    return withDb(t, this.place(t));
  },
};

/** SQLite always; Postgres when reachable (the skip is announced once, in postgres.test.ts). */
export const BACKENDS: Backend[] = pgUrl ? [sqlite, postgres] : [sqlite];
