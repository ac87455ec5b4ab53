import type { Db } from "../db/index.ts";

/** The most tenants one statement asks about. */
const CHUNK = 500;

/**
 * Whether a tenant has a note due, for many heartbeats in one statement. A thousand tenants' heartbeats
 * due on the same second each asked with a statement of their own; those asking within one turn of the
 * event loop now share one. The statement starts after the last of them asked, with the time read
 * then, so each answer is as fresh as its own read would have been: a note due is never missed.
 * It reads across tenants but answers each heartbeat only about its own tenant, and only yes or no:
 * the notes themselves are read by the tenant's own scope once the answer is yes.
 */
export class DueCheck {
  readonly #db: Db;
  readonly #now: () => number;
  #waiting = new Map<string, { resolve: (due: boolean) => void; reject: (e: unknown) => void }[]>();
  #scheduled = false;

  constructor(db: Db, now: () => number) {
    this.#db = db;
    this.#now = now;
  }

  /** True when the tenant has a note whose time has come and that is not done yet. */
  has(tenantId: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const list = this.#waiting.get(tenantId);
      if (list) list.push({ resolve, reject });
      else this.#waiting.set(tenantId, [{ resolve, reject }]);
      if (this.#scheduled) return;
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        void this.#ask();
      });
    });
  }

  async #ask(): Promise<void> {
    const waiting = this.#waiting;
    this.#waiting = new Map();
    const ids = [...waiting.keys()];
    const now = this.#now();
    await Promise.all(
      Array.from({ length: Math.ceil(ids.length / CHUNK) }, async (_, i) => {
        const chunk = ids.slice(i * CHUNK, (i + 1) * CHUNK);
        try {
          const due = await this.#due(chunk, now);
          for (const id of chunk) for (const w of waiting.get(id) ?? []) w.resolve(due.has(id));
        } catch (e) {
          for (const id of chunk) for (const w of waiting.get(id) ?? []) w.reject(e);
        }
      }),
    );
  }

  async #due(tenantIds: string[], now: number): Promise<Set<string>> {
    // Each tenant is one probe of the partial index os_memories_due (tenant_id, due_at).
    const rows =
      this.#db.dialect === "postgres"
        ? await this.#db.all<{ tenant_id: string }>(
            "SELECT DISTINCT tenant_id FROM os_memories WHERE tenant_id = ANY(?::text[]) AND due_at IS NOT NULL AND due_at <= ? AND done_at IS NULL",
            [tenantIds, now],
          )
        : // One statement text whatever the count: a list of "?" per count was a statement prepared and
          // kept per count (SqliteDb caches them), some 250 bytes a tenant each; 500 counts held 30 MB.
          await this.#db.all<{ tenant_id: string }>(
            "SELECT DISTINCT tenant_id FROM os_memories WHERE tenant_id IN (SELECT value FROM json_each(?)) AND due_at IS NOT NULL AND due_at <= ? AND done_at IS NULL",
            [JSON.stringify(tenantIds), now],
          );
    return new Set(rows.map((r) => r.tenant_id));
  }
}
