import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { openSqliteStore, type Store } from "../src/index.ts";
import { openPostgresStore } from "../src/store/postgres/index.ts";

/** A store kind the conformance suite runs against. `temp` gives a fresh, empty store; `open` another connection to it. */
export interface Backend {
  name: "sqlite" | "postgres";
  temp(t: {
    after(fn: () => unknown): void;
  }): Promise<{ store: Store & { stats: Store["stats"] }; open(): Promise<Store>; where: string }>;
}

const DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/test";

export const sqlite: Backend = {
  name: "sqlite",
  async temp(t) {
    const dir = mkdtempSync(join(tmpdir(), "agentd-kernel-"));
    const path = join(dir, "kernel.db");
    const opened: Store[] = [];
    const open = async () => {
      const s = await openSqliteStore(path);
      opened.push(s);
      return s;
    };
    const store = await open();
    t.after(async () => {
      for (const s of opened) await s.close();
      rmSync(dir, { recursive: true, force: true });
    });
    return { store, open, where: path };
  },
};

/**
 * The Postgres to test against: DATABASE_URL, else a local default if one answers; null if none is reachable.
 * A laptop with none refuses the connection at once; the timeout is for a busy machine's slow answer, which must
 * not quietly drop a file's Postgres half (at load 10 a half-second one did).
 */
export const pgUrl: string | null = await (async () => {
  const url = process.env.DATABASE_URL;
  if (url) return url; // set explicitly (as CI does): tests must run, and fail loudly if it is down
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

export const postgres: Backend = {
  name: "postgres",
  async temp(t) {
    const url = pgUrl as string;
    const schema = `t_${randomBytes(6).toString("hex")}`;
    const opened: Store[] = [];
    const open = async () => {
      const s = await openPostgresStore({ url, schema, poolSize: 4 });
      opened.push(s);
      return s;
    };
    const store = await open();
    t.after(async () => {
      for (const s of opened) await s.close();
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    });
    return { store, open, where: `${url} schema ${schema}` };
  },
};

/** Every backend available here: SQLite always, Postgres when reachable (postgres.test.ts says so when it is not). */
export const BACKENDS: Backend[] = pgUrl ? [sqlite, postgres] : [sqlite];
