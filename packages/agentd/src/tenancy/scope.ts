import type { Db, Row } from "../db/index.ts";
import { AgentdError } from "../errors.ts";

/** A statement given to a TenantScope that does not name `$tenant`: it could reach other tenants' rows. */
export class UnscopedQueryError extends AgentdError<"unscoped_query"> {
  constructor(sql: string) {
    super("unscoped_query", `a tenant-scoped statement must filter or write by $tenant; refused: ${sql.slice(0, 120)}`);
  }
}

/**
 * The only way tenant code reaches OS data: every statement must mention `$tenant`, which is bound
 * to this scope's tenant id. Forgetting the filter is an error, not a leak.
 */
export class TenantScope {
  readonly tenantId: string;
  readonly #db: Db;

  constructor(db: Db, tenantId: string) {
    this.#db = db;
    this.tenantId = tenantId;
  }

  get dialect() {
    return this.#db.dialect;
  }

  async all<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    const [s, p] = this.#bind(sql, params);
    return this.#db.all<T>(s, p);
  }

  async get<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    const [s, p] = this.#bind(sql, params);
    return this.#db.get<T>(s, p);
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<{ changes: number }> {
    const [s, p] = this.#bind(sql, params);
    return this.#db.run(s, p);
  }

  tx<T>(fn: (scope: TenantScope) => Promise<T>): Promise<T> {
    return this.#db.tx((db) => fn(new TenantScope(db, this.tenantId)));
  }

  /** Replaces each `$tenant` by a placeholder and splices the tenant id into the parameters at its place. */
  #bind(sql: string, params: readonly unknown[]): [string, unknown[]] {
    if (!sql.includes("$tenant")) throw new UnscopedQueryError(sql);
    const out: unknown[] = [];
    let i = 0;
    const text = sql.replace(/\$tenant\b|\?/g, (m) => {
      out.push(m === "?" ? params[i++] : this.tenantId);
      return "?";
    });
    if (i !== params.length)
      throw new Error(`statement has ${i} placeholders but ${params.length} parameters: ${sql.slice(0, 120)}`);
    return [text, out];
  }
}
