import type { Db, Dialect } from "./types.ts";

/** One step of the OS tables' schema (schema.ts lists them); append-only: never edit one that has shipped. */
export interface Migration {
  version: number;
  sql: (d: Dialect) => string;
  /** Rows the SQL alone cannot write, written in the same transaction after it. */
  after?: (db: Db) => Promise<void>;
}

/** A key that counts up. */
export const serial = (d: Dialect) =>
  d === "sqlite" ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY";
/** A 64-bit integer (epoch milliseconds, counters). */
export const big = (d: Dialect) => (d === "sqlite" ? "INTEGER" : "BIGINT");
