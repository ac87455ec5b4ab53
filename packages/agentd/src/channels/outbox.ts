import type { Db } from "../db/index.ts";
import type { TenantScope } from "../tenancy/scope.ts";

/**
 * What channels have sent, durably: one row per part of a delivery (its key and index), written
 * `sending` before the call to the provider and `sent` with the provider's message id after it.
 * A delivery replayed after a crash skips parts already `sent`, so a reply is not sent twice; only a
 * crash inside the provider call itself (between its request and the row's update) can repeat a part.
 * Provider status callbacks (Twilio's delivered / failed) move rows forward by the provider's id (`advance`).
 */
export interface OutboxPart {
  key: string;
  part: number;
  channel: string;
  conversation: string;
  externalId: string | null;
  status: string;
  detail: string | null;
  updatedAt: number;
}

interface Row {
  key: string;
  part: number;
  channel: string;
  conversation: string;
  external_id: string | null;
  status: string;
  detail: string | null;
  updated_at: number;
}

const toPart = (r: Row): OutboxPart => ({
  key: r.key,
  part: Number(r.part),
  channel: r.channel,
  conversation: r.conversation,
  externalId: r.external_id,
  status: r.status,
  detail: r.detail,
  updatedAt: Number(r.updated_at),
});

export const outbox = {
  /** The parts recorded for a delivery key, in order. */
  async parts(scope: TenantScope, key: string): Promise<OutboxPart[]> {
    const rows = await scope.all<Row>("SELECT * FROM os_outbox WHERE tenant_id = $tenant AND key = ? ORDER BY part", [
      key,
    ]);
    return rows.map(toPart);
  },

  async get(scope: TenantScope, key: string, part: number): Promise<OutboxPart | null> {
    const r = await scope.get<Row>("SELECT * FROM os_outbox WHERE tenant_id = $tenant AND key = ? AND part = ?", [
      key,
      part,
    ]);
    return r ? toPart(r) : null;
  },

  /** Records the intent to send a part (a no-op when the part is already recorded); returns the row as it is now. */
  async begin(
    scope: TenantScope,
    p: { key: string; part: number; channel: string; conversation: string },
    now: number,
  ): Promise<OutboxPart> {
    await scope.run(
      "INSERT INTO os_outbox (tenant_id, key, part, channel, conversation, status, created_at, updated_at) VALUES ($tenant, ?, ?, ?, ?, 'sending', ?, ?) ON CONFLICT DO NOTHING",
      [p.key, p.part, p.channel, p.conversation, now, now],
    );
    return (await this.get(scope, p.key, p.part)) as OutboxPart;
  },

  /** Sets a part's status (and the provider's id for it, when given). */
  async mark(
    scope: TenantScope,
    key: string,
    part: number,
    status: string,
    now: number,
    externalId?: string | null,
    detail?: string | null,
  ): Promise<void> {
    await scope.run(
      "UPDATE os_outbox SET status = ?, external_id = COALESCE(?, external_id), detail = COALESCE(?, detail), updated_at = ? WHERE tenant_id = $tenant AND key = ? AND part = ?",
      [status, externalId ?? null, detail ?? null, now, key, part],
    );
  },

  /**
   * Records the provider's id for a part whose call answered, unless the provider's own report
   * (`claim`) got there first: that row already holds the id and a later status, which must stay.
   */
  async sent(scope: TenantScope, key: string, part: number, externalId: string, now: number): Promise<void> {
    await scope.run(
      "UPDATE os_outbox SET status = 'sent', external_id = ?, updated_at = ? WHERE tenant_id = $tenant AND key = ? AND part = ? AND external_id IS NULL",
      [externalId, now, key, part],
    );
  },

  /**
   * A provider's report about a message it accepted for a part we never heard back about (the call's
   * answer was lost to a crash or a cut connection): the report names the part (WhatsApp echoes the
   * `biz_opaque_callback_data` we sent), so the row learns its id and the part is not sent again.
   * Returns whether a row took the id.
   */
  async claim(
    scope: TenantScope,
    p: { key: string; part: number; channel: string },
    externalId: string,
    status: string,
    detail: string | null,
    now: number,
  ): Promise<boolean> {
    const { changes } = await scope.run(
      "UPDATE os_outbox SET external_id = ?, status = ?, detail = COALESCE(?, detail), updated_at = ? WHERE tenant_id = $tenant AND key = ? AND part = ? AND channel = ? AND external_id IS NULL",
      [externalId, status, detail, now, p.key, p.part, p.channel],
    );
    return changes > 0;
  },

  /**
   * Holds a part the provider will not take now (WhatsApp outside its 24-hour window): no provider
   * id, so a later send of the same delivery sends it again; `takeHeld` finds it when the window opens.
   */
  async hold(scope: TenantScope, key: string, part: number, detail: string, now: number): Promise<void> {
    await scope.run(
      "UPDATE os_outbox SET status = 'held', external_id = NULL, detail = ?, updated_at = ? WHERE tenant_id = $tenant AND key = ? AND part = ?",
      [detail, now, key, part],
    );
  },

  /**
   * The same, for a part the provider accepted and then reported failed (found by its id, unscoped
   * like `advance`): only while failed (or undelivered) is its latest status (a late failure after a read is not one).
   */
  async holdSent(db: Db, channel: string, externalId: string, detail: string, now: number): Promise<number> {
    const { changes } = await db.run(
      "UPDATE os_outbox SET status = 'held', external_id = NULL, detail = ?, updated_at = ? WHERE channel = ? AND external_id = ? AND status IN ('failed', 'undelivered')",
      [detail, now, channel, externalId],
    );
    return changes;
  },

  /** Whether anything is held for a conversation: every message from a person asks, so it reads one index entry at most. */
  async hasHeld(scope: TenantScope, channel: string, conversation: string): Promise<boolean> {
    const row = await scope.get(
      "SELECT 1 AS one FROM os_outbox WHERE tenant_id = $tenant AND channel = ? AND conversation = ? AND status = 'held' LIMIT 1",
      [channel, conversation],
    );
    return row !== null && row !== undefined;
  },

  /**
   * Takes the held parts of a conversation for sending (they become `unsent`, marked as taken by
   * `taker.by`): of two runs asking at once, each part goes to one. With `taker.again` (a step
   * retried: its update may have committed before its result was recorded) the parts this taker
   * took before come back too, read from the tenant's rows (the held ones come from their index).
   * Oldest first.
   */
  async takeHeld(
    scope: TenantScope,
    channel: string,
    conversation: string,
    now: number,
    taker: { by: string; again: boolean },
  ): Promise<{ key: string; part: number }[]> {
    const mark = `sent again by ${taker.by}`;
    type Taken = { key: string; part: number; created_at: number };
    const before = taker.again
      ? await scope.all<Taken>(
          "SELECT key, part, created_at FROM os_outbox WHERE tenant_id = $tenant AND channel = ? AND conversation = ? AND status = 'unsent' AND detail = ?",
          [channel, conversation, mark],
        )
      : [];
    const taken = await scope.all<Taken>(
      "UPDATE os_outbox SET status = 'unsent', detail = ?, updated_at = ? WHERE tenant_id = $tenant AND channel = ? AND conversation = ? AND status = 'held' RETURNING key, part, created_at",
      [mark, now, channel, conversation],
    );
    const rows = [...before, ...taken];
    return rows
      .sort((a, b) => Number(a.created_at) - Number(b.created_at) || Number(a.part) - Number(b.part))
      .map((r) => ({ key: r.key, part: Number(r.part) }));
  },

  /**
   * A provider's status report for one of its message ids; a status only moves forward, since
   * callbacks arrive out of order and may be replayed (`sent` after `delivered`, or the same status
   * twice, changes nothing). Unscoped on purpose: the callback names no tenant, and the provider's id
   * (with the channel) is what identifies the row. Returns the rows changed.
   */
  async advance(
    db: Db,
    channel: string,
    externalId: string,
    status: string,
    detail: string | null,
    now: number,
  ): Promise<number> {
    const lower = Object.keys(RANK).filter((s) => RANK[s]! < rankOf(status));
    if (!lower.length) return 0;
    const { changes } = await db.run(
      `UPDATE os_outbox SET status = ?, detail = COALESCE(?, detail), updated_at = ? WHERE channel = ? AND external_id = ? AND status IN (${lower.map(() => "?").join(", ")})`,
      [status, detail, now, channel, externalId, ...lower],
    );
    return changes;
  },

  /** Whether any row (of any tenant) records this provider message id; unscoped like `advance`. */
  async recorded(db: Db, channel: string, externalId: string): Promise<boolean> {
    return (
      (await db.get("SELECT 1 AS x FROM os_outbox WHERE channel = ? AND external_id = ?", [channel, externalId])) !==
      undefined
    );
  },
};

/**
 * Delivery statuses in the order a message moves through them (Twilio's and WhatsApp's vocabulary).
 * The outbox adds its own: `sending` (about to call the provider), `unsent` (the provider refused
 * the call: nothing went out) and `held` (to be sent when the provider allows). Terminal outcomes
 * share the top ranks; `read` (and `played`, for a voice message) follows `delivered` on WhatsApp.
 * Unknown statuses rank as terminal.
 */
const RANK: Record<string, number> = {
  sending: 0,
  unsent: 0,
  held: 0,
  accepted: 1,
  scheduled: 1,
  queued: 1,
  sent: 2,
  delivered: 3,
  undelivered: 3,
  failed: 3,
  canceled: 3,
  read: 4,
  played: 4,
};
const rankOf = (status: string) => RANK[status] ?? 3;
