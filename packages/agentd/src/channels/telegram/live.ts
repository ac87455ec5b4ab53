import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { type Api, GrammyError } from "grammy";
import type { LiveView } from "../ports.ts";
import type { TenantScope } from "../../tenancy/scope.ts";
import { outbox } from "../outbox.ts";
import { escapeHtml, isBalanced, isParseError, toTelegramHtml } from "./format.ts";
import { TELEGRAM_MAX_TEXT } from "./split.ts";
import type { Typing } from "./typing.ts";

export interface LiveOptions {
  /** Least time between two updates of one chat's live reply (Telegram allows about one message a second per chat). */
  intervalMs: number;
  /** The same for groups, where Telegram allows 20 messages a minute. */
  groupIntervalMs: number;
}

/** The outbox key under which a run's placeholder message is recorded, so a replay reuses it and the final reply removes it. */
export const placeholderKey = (runId: string) => `live:${runId}`;

/** A draft id Telegram animates across updates: stable for the run, so a retried attempt continues the same draft. */
const draftId = (runId: string) => createHash("sha256").update(runId).digest().readUInt32BE(0) & 0x7fffffff || 1;

/**
 * A reply shown while the model writes it. Private chats get Telegram's message drafts
 * (`sendMessageDraft`), which vanish when the final message is sent; elsewhere, or when drafts are
 * refused, a placeholder message is edited and later deleted by the final delivery. Updates are
 * throttled per chat, never wait on a 429 (the next update simply comes after `retry_after`), and
 * the typing indicator covers the time no text is shown.
 */
export function liveReply(
  api: Api,
  t: {
    scope: TenantScope;
    channel: string;
    chatId: string;
    runId: string;
    typing: Typing;
    opts: LiveOptions;
    noDrafts: Set<string>;
    onError: (e: unknown) => void;
    now: () => number;
  },
): LiveView {
  const { chatId, runId } = t;
  const isPrivate = Number(chatId) > 0;
  const interval = isPrivate ? t.opts.intervalMs : t.opts.groupIntervalMs;
  let mode: "draft" | "edit" = isPrivate && !t.noDrafts.has(chatId) ? "draft" : "edit";
  let wanted = "";
  let shown = "";
  let placeholder: number | null | undefined; // undefined: not looked up yet
  let notBefore = 0;
  let timer: NodeJS.Timeout | null = null;
  let flight: Promise<void> | null = null;
  let closed = false;
  let plainDrafts = false;
  t.typing.start(chatId);

  const schedule = () => {
    if (closed || timer || flight || wanted === shown) return;
    const wait = Math.max(0, notBefore - Date.now());
    if (wait === 0) return void (flight = push().finally(() => ((flight = null), schedule())));
    timer = setTimeout(() => ((timer = null), schedule()), wait);
    timer.unref();
  };

  async function push(): Promise<void> {
    const text = preview(wanted);
    const target = wanted;
    notBefore = Number.POSITIVE_INFINITY;
    try {
      if (mode === "draft") await draft(text);
      else await edit(text);
      // Counted from the answer, so Telegram sees updates at least `interval` apart however long a call takes.
      notBefore = Date.now() + interval;
      shown = target;
      t.typing.stop(chatId);
    } catch (e) {
      const retry = e instanceof GrammyError && e.error_code === 429 ? (e.parameters.retry_after ?? 1) : null;
      notBefore = Date.now() + interval;
      if (retry !== null) notBefore = Date.now() + retry * 1000;
      else if (mode === "draft" && !plainDrafts && isParseError(e)) {
        plainDrafts = true;
        notBefore = 0;
      } else if (mode === "draft" && e instanceof GrammyError && e.error_code === 400) {
        // This chat (or bot) can't show drafts: remember, and edit a placeholder from now on. The
        // refused call may count against the chat's flood limit: the placeholder keeps the pace.
        t.noDrafts.add(chatId);
        mode = "edit";
      } else {
        t.onError(e);
        shown = target; // a failed preview is not retried; the final reply is what counts
      }
    }
  }

  async function draft(text: string) {
    if (plainDrafts) return void (await api.sendMessageDraft(Number(chatId), draftId(runId), text));
    const html = toTelegramHtml(text);
    await api.sendMessageDraft(Number(chatId), draftId(runId), isBalanced(html) ? html : escapeHtml(text), {
      parse_mode: "HTML",
    });
  }

  async function edit(text: string) {
    if (placeholder === undefined)
      placeholder = Number((await outbox.get(t.scope, placeholderKey(runId), 0))?.externalId ?? 0) || null;
    if (placeholder === null) {
      // Recorded before it is sent: a crash in between leaves a `sending` row, not a stray message we forget.
      await outbox.begin(
        t.scope,
        { key: placeholderKey(runId), part: 0, channel: t.channel, conversation: chatId },
        t.now(),
      );
      const msg = await api.sendMessage(chatId, text, { disable_notification: true });
      placeholder = msg.message_id;
      await outbox.mark(t.scope, placeholderKey(runId), 0, "live", t.now(), String(msg.message_id));
      return;
    }
    try {
      await api.editMessageText(chatId, placeholder, text);
    } catch (e) {
      if (!(e instanceof GrammyError && /not modified/i.test(e.description))) throw e;
    }
  }

  return {
    update(text) {
      if (closed) return;
      if (text === "") {
        // A new model call: keep what is shown, and show that work goes on.
        if (wanted !== "") t.typing.start(chatId);
        return;
      }
      wanted = text;
      schedule();
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      t.typing.stop(chatId);
      await flight?.catch(() => {});
      // The final reply comes next: sent sooner, flood control would refuse it and cost a whole retry_after.
      const wait = Math.min(notBefore - Date.now(), interval);
      if (shown !== "" && wait > 0) await sleep(wait);
    },
  };
}

/** What a preview shows: the text so far, cut to one message and marked as unfinished. */
function preview(text: string): string {
  const max = TELEGRAM_MAX_TEXT - 2;
  return `${text.length > max ? text.slice(0, max) : text} …`.trimStart();
}
