import type { Db } from "../db/index.ts";

/** How long a handled delivery is remembered: far longer than any provider retries (Meta: 7 days). */
const KEEP_MS = 30 * 24 * 3600_000;
/** Old entries are pruned once every this many records (cheap: one indexed delete). */
const PRUNE_EVERY = 500;

/**
 * Webhook deliveries a channel has handled, by the provider's message id: a signed request replayed
 * later (by an attacker who captured it, or a provider's late retry after a restart) is answered
 * without doing anything again: no second download, no second instructions message. Written after a
 * delivery is handled, so one that failed is still handled when it comes again. Unscoped like the
 * outbox's provider lookups: it is read before the sender's tenant is known.
 */
export function inboundLog(db: Db, now: () => number) {
  let records = 0;
  return {
    async seen(channel: string, externalId: string): Promise<boolean> {
      return (
        (await db.get("SELECT 1 AS x FROM os_inbound WHERE channel = ? AND external_id = ?", [channel, externalId])) !==
        undefined
      );
    },
    async record(channel: string, externalId: string, tenantId: string | null): Promise<void> {
      const at = now();
      await db.run(
        "INSERT INTO os_inbound (channel, external_id, tenant_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [channel, externalId, tenantId, at],
      );
      if (++records % PRUNE_EVERY === 0) await db.run("DELETE FROM os_inbound WHERE created_at < ?", [at - KEEP_MS]);
    },
  };
}
