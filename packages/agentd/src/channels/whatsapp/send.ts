import { FatalError, RetryableError } from "@agentd/kernel";
import type { WhatsAppAPI } from "whatsapp-api-js";
import type { TenantScope } from "../../tenancy/scope.ts";
import { outbox } from "../outbox.ts";
import { GraphApiError, WINDOW_CLOSED } from "./client.ts";
import type { LazyMessage } from "./files.ts";

/** How often a part left `sending` looks for Meta's report naming it, while it waits (see `confirmGraceMs`). */
const CLAIM_POLL_MS = 250;
/** Rate-limit answers waited out within one delivery before the step is handed back to its retry policy. */
const MAX_WAITS = 4;
const DEFAULT_WAIT_MS = 2_000;

export interface SenderOptions {
  client: WhatsAppAPI;
  phoneNumberId: string;
  /** The channel name parts are recorded under. */
  channel: string;
  /**
   * How long a part whose call never answered (a crash, a cut connection) waits for Meta's status
   * report naming it before it is sent again (default 10 s): the report carries the part's outbox
   * address in `biz_opaque_callback_data`, so a message Meta did accept is recorded, not repeated.
   */
  confirmGraceMs?: number;
  now: () => number;
  sleep?: (ms: number) => Promise<void>;
  log: (message: string) => void;
  /** How many rate-limit answers one call waits out before handing the delivery back to its step's retries (default 4; 0 inside a webhook). */
  rateLimitWaits?: number;
}

/** What Meta echoes in every status report of a part: where its outbox row is. */
export const opaqueOf = (tenantId: string, key: string, part: number) => JSON.stringify([tenantId, key, part]);

/** The outbox address a status report's `biz_opaque_callback_data` names, or null when it is not one of ours. */
export function parseOpaque(data: string | undefined): { tenantId: string; key: string; part: number } | null {
  if (!data) return null;
  try {
    const v: unknown = JSON.parse(data);
    if (
      Array.isArray(v) &&
      v.length === 3 &&
      typeof v[0] === "string" &&
      typeof v[1] === "string" &&
      Number.isInteger(v[2])
    )
      return { tenantId: v[0], key: v[1], part: v[2] as number };
  } catch {
    // someone else's opaque data
  }
  return null;
}

/**
 * Sends the parts of a delivery through the Cloud API, each recorded in the outbox: `sending` before
 * the call, `sent` with Meta's message id after it, `unsent` when Meta refused the call (nothing went
 * out, so a retry sends at once). A part still `sending` from an earlier attempt is one whose answer
 * was lost (a crash, a cut connection, a 5xx): it waits a little for Meta's status report to claim
 * it before it is sent again. Rate limits are waited out (`rateLimitWaits` times, then the step's
 * retry policy takes over). Outside the 24-hour window the part and the ones after it are `held`:
 * they go out when the person writes again (held.ts). Any other refusal that retrying cannot fix (a
 * bad number, a revoked token) marks the part `failed` and ends the delivery with a FatalError.
 */
export function whatsappSender(o: SenderOptions) {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const grace = o.confirmGraceMs ?? 10_000;
  const maxWaits = o.rateLimitWaits ?? MAX_WAITS;

  async function claimed(scope: TenantScope, key: string, part: number): Promise<boolean> {
    const end = o.now() + grace;
    for (;;) {
      if ((await outbox.get(scope, key, part))?.externalId) return true;
      if (o.now() >= end) return false;
      await sleep(CLAIM_POLL_MS);
    }
  }

  /** Holds this part and the ones after it until the window opens again. */
  async function hold(
    scope: TenantScope,
    to: string,
    key: string,
    from: number,
    count: number,
    e: GraphApiError,
  ): Promise<void> {
    for (let part = from; part < count; part++) {
      await outbox.begin(scope, { key, part, channel: o.channel, conversation: to }, o.now());
      await outbox.hold(scope, key, part, String(e.graphCode), o.now());
    }
    o.log(`${key} to ${to} is held: outside WhatsApp's 24-hour window; it goes out when they write again`);
  }

  return async function send(scope: TenantScope, to: string, messages: LazyMessage[], key: string): Promise<void> {
    for (const [part, message] of messages.entries()) {
      const earlier = await outbox.get(scope, key, part);
      if (earlier?.externalId) continue;
      if (earlier?.status === "sending" && (await claimed(scope, key, part))) continue;
      if (earlier) await outbox.mark(scope, key, part, "sending", o.now());
      else await outbox.begin(scope, { key, part, channel: o.channel, conversation: to }, o.now());
      for (let waits = 0; ; waits++) {
        try {
          const res = await o.client.sendMessage(
            o.phoneNumberId,
            to,
            typeof message === "function" ? await message() : message,
            undefined,
            opaqueOf(scope.tenantId, key, part),
          );
          const id = "messages" in res ? res.messages[0]?.id : undefined;
          if (!id) throw new Error("the Cloud API accepted the message but gave no id");
          await outbox.sent(scope, key, part, id, o.now());
          break;
        } catch (e) {
          // No answer, or one that leaves open whether it went out: the part stays `sending` for the claim above.
          if (!GraphApiError.is(e) || e.ambiguous) throw e;
          if (e.graphCode === WINDOW_CLOSED) return hold(scope, to, key, part, messages.length, e);
          await outbox.mark(
            scope,
            key,
            part,
            e.permanent ? "failed" : "unsent",
            o.now(),
            null,
            e.graphCode === null ? `HTTP ${e.status}` : String(e.graphCode),
          );
          if (e.permanent) throw new FatalError(`${e.message}${advice(e.graphCode)}`);
          const wait = e.retryAfterMs ?? DEFAULT_WAIT_MS * (waits + 1);
          if (!e.rateLimited || waits >= maxWaits) throw new RetryableError(e.message, { retryAfterMs: wait });
          o.log(`rate limited (${e.graphCode ?? e.status}); sending again in ${wait} ms`);
          await sleep(wait);
          await outbox.mark(scope, key, part, "sending", o.now());
        }
      }
    }
  };
}

/** What to do about the refusals people meet most. */
function advice(code: number | null): string {
  if (code === 190)
    return ". The access token is invalid or expired: set a new WHATSAPP_ACCESS_TOKEN (a system user's token does not expire).";
  if (code === 100) return ". Meta refused a parameter: check WHATSAPP_PHONE_NUMBER_ID and the recipient.";
  if (code === 131026) return ". The message could not be delivered to this number (not on WhatsApp, or an old app).";
  return "";
}

export type WhatsAppSend = ReturnType<typeof whatsappSender>;
