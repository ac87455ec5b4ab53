import { AsyncLocalStorage } from "node:async_hooks";
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { ownerOnlySqlite } from "./files.ts";
import { countStatement, noStats } from "./stats.ts";
import type { Db, DbStats, Row } from "./types.ts";

/**
 * SQLite through node:sqlite. Calls are synchronous underneath; transactions are serialised by a
 * queue so that an `await` inside one never lets another statement slip into it. Whether a call is
 * the open transaction's own is known by its async context, not by a flag: a flag let any caller's
 * statement run inside another's transaction while it awaited (and be rolled back with it).
 */
export class SqliteDb implements Db {
  readonly dialect = "sqlite" as const;
  readonly where: string;
  readonly stats: DbStats = noStats();
  readonly #db: DatabaseSync;
  #queue: Promise<unknown> = Promise.resolve();
  /** The open transaction's token, seen within its own async context only. */
  readonly #tx = new AsyncLocalStorage<object>();
  #open: object | null = null;

  constructor(path: string) {
    this.#db = new DatabaseSync(ownerOnlySqlite(path));
    this.#db.exec(
      "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
    );
    this.where = path;
  }

  /** Prepared statements by text: preparing costs more than running most of agentd's statements. */
  readonly #prepared = new Map<string, StatementSync>();

  #stmt(sql: string) {
    countStatement(this.stats, sql, this.#inTx());
    let s = this.#prepared.get(sql);
    if (!s) {
      s = this.#db.prepare(sql);
      s.setReadBigInts(false);
      // Statements are texts of agentd's code (values are parameters): a few hundred at most.
      if (this.#prepared.size < 2_000) this.#prepared.set(sql, s);
    }
    return s;
  }

  async all<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    if (!this.#inTx()) await this.#outside();
    return this.#stmt(sql).all(...bind(params)) as T[];
  }

  async get<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    if (!this.#inTx()) await this.#outside();
    return this.#stmt(sql).get(...bind(params)) as T | undefined;
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<{ changes: number }> {
    if (!this.#inTx()) await this.#outside();
    const r = this.#stmt(sql).run(...bind(params));
    return { changes: Number(r.changes) };
  }

  /**
   * Waits until no transaction is open. Checked again after each wait: a transaction queued first
   * may have begun meanwhile. The caller's statement then runs at once, with no await between.
   */
  async #outside(): Promise<void> {
    await this.#queue;
    while (this.#open !== null) await this.#queue;
  }

  #inTx(): boolean {
    // A promise the transaction left running keeps its context after the end: the token no longer matches.
    return this.#open !== null && this.#tx.getStore() === this.#open;
  }

  /** Raw script execution, for migrations. */
  exec(sql: string): void {
    this.#db.exec(sql);
  }

  tx<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    const next = this.#queue.then(async () => {
      this.stats.transactions++;
      this.#db.exec("BEGIN IMMEDIATE");
      const token = {};
      this.#open = token;
      try {
        const out = await this.#tx.run(token, () => fn(this));
        this.#db.exec("COMMIT");
        this.stats.commits++;
        return out;
      } catch (e) {
        this.#db.exec("ROLLBACK");
        throw e;
      } finally {
        this.#open = null;
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
