/** The OS data store: one SQL connection (SQLite file or Postgres pool) behind a tiny async port. */
export type Dialect = "sqlite" | "postgres";

export interface Db {
  readonly dialect: Dialect;
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
