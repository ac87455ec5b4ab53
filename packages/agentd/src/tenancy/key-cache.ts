import { createRequire } from "node:module";
import type pg from "pg";
import type { Db } from "../db/index.ts";
import type { PostgresDb } from "../db/postgres.ts";

/** Where a revocation is announced: per schema, since NOTIFY channels span the whole database. */
export const keysChannel = (db: Db): string | null =>
  db.dialect === "postgres" ? `agentd_keys_${(db as PostgresDb).schema}` : null;

/** A notice's payload: a revoked key's hash, or every key of a tenant (deleted). */
export const tenantNotice = (tenantId: string) => `tenant:${tenantId}`;

const MAX_KEYS = 10_000;

/**
 * API keys' tenants kept in this process, so a request on Postgres does not wait for a read of
 * os_api_keys before anything else. Every revocation (and a tenant's deletion) notifies the keys'
 * channel in its own statement, so the notice leaves at its commit and every process forgets the key
 * when it arrives. A key is kept only while this process listens: until LISTEN is in place, and after
 * the listening connection drops (a notice may have been missed: every key is forgotten), each
 * lookup reads the store. A read is kept only if it began while listening and no notice arrived
 * before it ended: otherwise it may predate a revocation this process was not told of.
 */
export class KeyCache {
  readonly #db: PostgresDb;
  readonly #channel: string;
  readonly #entries = new Map<string, string>();
  #notices = 0;
  #client: pg.Client | null = null;
  #started: Promise<boolean> = Promise.resolve(false);
  #listening = false;
  #closed = false;

  constructor(db: PostgresDb) {
    this.#db = db;
    this.#channel = keysChannel(db) as string;
  }

  /** The tenant of a key's hash: kept, or read by `read` (and kept when no notice came meanwhile). */
  async tenantOf(hash: string, read: () => Promise<string | null>): Promise<string | null> {
    if (this.#listening) {
      const hit = this.#entries.get(hash);
      if (hit !== undefined) return hit;
    } else this.#listen();
    // Kept only if it began while listening: a revocation that commits after its snapshot is noticed.
    const before = this.#listening ? this.#notices : -1;
    const tenantId = await read();
    if (tenantId !== null && this.#listening && before === this.#notices) {
      if (this.#entries.size >= MAX_KEYS) this.#entries.delete(this.#entries.keys().next().value as string);
      this.#entries.set(hash, tenantId);
    }
    return tenantId;
  }

  /** Whether keys are kept: starts listening if it was not, and answers once LISTEN is in place (or failed). */
  async listening(): Promise<boolean> {
    this.#listen();
    return this.#started;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#forget();
    await this.#client?.end().catch(() => {});
    this.#client = null;
  }

  #forget(): void {
    this.#notices++;
    this.#listening = false;
    this.#entries.clear();
  }

  /** A notice (a revoked key's hash, or `tenantNotice`): this process's own revocation forgets it at once. */
  notice(payload: string): void {
    this.#notices++;
    if (payload.startsWith("tenant:")) {
      const tenantId = payload.slice("tenant:".length);
      for (const [hash, t] of this.#entries) if (t === tenantId) this.#entries.delete(hash);
    } else this.#entries.delete(payload);
  }

  /** Starts listening once (not awaited by lookups: they read the store until it is in place). */
  #listen(): void {
    if (this.#client || this.#closed) return;
    // pg by require here, not imported: a process on SQLite never loads it (35 modules of every start).
    const { Client } = createRequire(import.meta.url)("pg") as typeof pg;
    const client = new Client(this.#db.pool.options);
    this.#client = client;
    const lost = () => {
      if (this.#client !== client) return;
      this.#client = null;
      this.#forget();
      client.end().catch(() => {});
    };
    client.on("error", lost);
    client.on("end", lost);
    client.on("notification", (n) => {
      if (n.channel === this.#channel) this.notice(n.payload ?? "");
    });
    this.#started = client
      .connect()
      .then(() => {
        // A process that only serves requests must still exit when it is done: this connection never holds it.
        (client as unknown as { connection?: { stream?: { unref?(): void } } }).connection?.stream?.unref?.();
        return client.query(`LISTEN ${this.#channel}`);
      })
      .then(() => {
        if (this.#client === client && !this.#closed) this.#listening = true;
        return this.#listening;
      })
      .catch(() => {
        lost();
        return false;
      });
  }
}
