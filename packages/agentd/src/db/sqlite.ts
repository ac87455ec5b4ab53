import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import { ownerOnlySqlite } from "./files.ts";
import type { Db, Row } from "./types.ts";

/**
 * SQLite through node:sqlite. Calls are synchronous underneath; transactions are serialised by a
 * queue so that an `await` inside one never lets another statement slip into it.
 */
export class SqliteDb implements Db {
  readonly dialect = "sqlite" as const;
  readonly where: string;
  readonly #db: DatabaseSync;
  #queue: Promise<unknown> = Promise.resolve();
  #inTx = false;

  constructor(path: string) {
    this.#db = new DatabaseSync(ownerOnlySqlite(path));
    this.#db.exec(
      "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
    );
    this.where = path;
  }

  #stmt(sql: string) {
    const s = this.#db.prepare(sql);
    s.setReadBigInts(false);
    return s;
  }

  async all<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    if (!this.#inTx) await this.#queue;
    return this.#stmt(sql).all(...bind(params)) as T[];
  }

  async get<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    if (!this.#inTx) await this.#queue;
    return this.#stmt(sql).get(...bind(params)) as T | undefined;
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<{ changes: number }> {
    if (!this.#inTx) await this.#queue;
    const r = this.#stmt(sql).run(...bind(params));
    return { changes: Number(r.changes) };
  }

  /** Raw script execution, for migrations. */
  exec(sql: string): void {
    this.#db.exec(sql);
  }

  tx<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    const next = this.#queue.then(async () => {
      this.#db.exec("BEGIN IMMEDIATE");
      this.#inTx = true;
      try {
        const out = await fn(this);
        this.#db.exec("COMMIT");
        return out;
      } catch (e) {
        this.#db.exec("ROLLBACK");
        throw e;
      } finally {
        this.#inTx = false;
      }
    });
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.#queue;
    this.#db.close();
  }
}

function bind(params: readonly unknown[]): SQLInputValue[] {
  return params.map((p) => (p === undefined ? null : typeof p === "boolean" ? (p ? 1 : 0) : (p as SQLInputValue)));
}
