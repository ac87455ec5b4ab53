/** The OS data store: one SQL connection (SQLite file or Postgres pool) behind a tiny async port. */
export type Dialect = "sqlite" | "postgres";

/** What the store was asked, for benchmarks and the tests that keep a turn's cost in check. */
export interface DbStats {
  /** Every call that reaches the database: on Postgres one round trip each, BEGIN and COMMIT included. */
  statements: number;
  /** Explicit transactions. */
  transactions: number;
  /** Commits: each transaction's, and each writing statement's outside one (its own). */
  commits: number;
}

export interface Db {
  readonly dialect: Dialect;
  /** Counters shared by the store and the handles of its transactions. */
  readonly stats: DbStats;
  /** Where the data lives, for messages (a path, or host:port/database; never a password). */
  readonly where: string;
  /** SQL uses `?` placeholders in both dialects; Postgres gets them numbered. */
  all<T = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  get<T = Row>(sql: string, params?: readonly unknown[]): Promise<T | undefined>;
  run(sql: string, params?: readonly unknown[]): Promise<{ changes: number }>;
  /** Runs `fn` in one transaction; statements inside go through the handle it receives. */
  tx<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export type Row = Record<string, unknown>;
