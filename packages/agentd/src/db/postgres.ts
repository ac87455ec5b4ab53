import pg from "pg";
import { countStatement, noStats } from "./stats.ts";
import type { Db, DbStats, Row } from "./types.ts";

/** BIGINT columns hold epoch milliseconds and counters far below 2^53: return them as numbers. */
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
};

/** `?` placeholders numbered for Postgres ($1, $2, …); question marks inside string literals are left alone. */
export function numberPlaceholders(sql: string): string {
  let n = 0;
  let out = "";
  let quoted = false;
  for (const ch of sql) {
    if (ch === "'") quoted = !quoted;
    out += ch === "?" && !quoted ? `$${++n}` : ch;
  }
  return out;
}

const cache = new Map<string, string>();
function toPg(sql: string): string {
  let s = cache.get(sql);
  if (s === undefined) {
    s = numberPlaceholders(sql);
    if (cache.size < 2_000) cache.set(sql, s);
  }
  return s;
}

type Queryable = pg.Pool | pg.PoolClient;

class PgHandle implements Db {
  readonly dialect = "postgres" as const;
  readonly where: string;
  readonly stats: DbStats;
  protected readonly q: Queryable;
  readonly #inTx: boolean;
  constructor(where: string, q: Queryable, stats: DbStats, inTx: boolean) {
    this.where = where;
    this.q = q;
    this.stats = stats;
    this.#inTx = inTx;
  }

  async all<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    countStatement(this.stats, sql, this.#inTx);
    return (await this.q.query(toPg(sql), params as unknown[])).rows as T[];
  }

  async get<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<{ changes: number }> {
    countStatement(this.stats, sql, this.#inTx);
    return { changes: (await this.q.query(toPg(sql), params as unknown[])).rowCount ?? 0 };
  }

  tx<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    return fn(this); // already inside one
  }

  async close(): Promise<void> {}
}

export class PostgresDb extends PgHandle {
  readonly pool: pg.Pool;
  readonly schema: string;
  constructor(url: string, where: string, opts: { schema?: string; max?: number } = {}) {
    const schema = opts.schema ?? "public";
    if (!/^[a-z_][a-z0-9_]{0,39}$/.test(schema))
      throw new Error(`schema name ${JSON.stringify(schema)} must be a lower-case SQL identifier`);
    const pool = new pg.Pool({
      connectionString: url,
      max: opts.max ?? 10,
      types,
      options: `-c search_path=${schema}`,
      connectionTimeoutMillis: 10_000,
    });
    pool.on("error", () => {}); // an idle client's lost connection is replaced on next use
    super(where, pool, noStats(), false);
    this.pool = pool;
    this.schema = schema;
  }

  override async tx<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    this.stats.transactions++;
    this.stats.statements += 2; // BEGIN and COMMIT (or ROLLBACK)
    try {
      await client.query("BEGIN");
      const out = await fn(new PgHandle(this.where, client, this.stats, true));
      await client.query("COMMIT");
      this.stats.commits++;
      return out;
    } catch (e) {
      await client.query("ROLLBACK").catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  }

  override async close(): Promise<void> {
    await this.pool.end();
  }
}
