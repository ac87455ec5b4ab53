import { UNPAIRED_REPLY } from "../../sessions/inbox.ts";
import { sessions } from "../../sessions/store.ts";
import { inboundLog } from "../inbound-log.ts";
import { outbox } from "../outbox.ts";
import { Recent } from "../recent.ts";
import { UNREADABLE_REPLY } from "../replies.ts";
import type { InboundContext, InboundHost, InboundOptions, InboundStage } from "./context.ts";
import { keepFiles } from "./files.ts";
import { readMedia } from "./media.ts";
import type { InboundMessage, InboundResult } from "./message.ts";

/**
 * The stages every message of every channel goes through, in order; the inbox comes last. A message
 * of someone unknown stops at `stranger` (pairing or instructions, no file fetched, no turn).
 * What people send is read after `keepFiles` (`readMedia`: voice notes transcribed, documents read),
 * working on `c.attachments`; new stages of that kind go there too.
 */
export const STAGES: readonly InboundStage[] = [
  answeredAlready,
  knownSender,
  pressButton,
  unreadable,
  decideByCode,
  stranger,
  storedAlready,
  keepFiles,
  readMedia,
];

/**
 * The way in for every channel: retries and replays found (in flight in this process, and in the
 * durable inbound log for signed webhooks), then the stages, then the inbox (persisted, then the
 * turn started), then `answer`: the channel's wire replies, before the message counts as handled.
 * Throws when trying again may help: the channel fails its webhook or update and the provider
 * delivers the message again; what was stored is found by its source key. A retry or replay of a
 * handled message is neither handled nor answered again.
 */
export function inboundPipeline(host: InboundHost, o: InboundOptions) {
  const recent = new Recent();
  const handled = inboundLog(host.db, host.now);
  return {
    async handle(m: InboundMessage, answer: (r: InboundResult) => Promise<void>): Promise<void> {
      await recent.once([m.sourceKey, ...(m.retryKeys ?? [])], async () => {
        if (m.provider && (await handled.seen(m.provider.name, m.provider.messageId))) return; // a replay: answered, nothing done again
        const result = await run(m);
        await answer(result);
        if (m.provider) await handled.record(m.provider.name, m.provider.messageId, result.tenantId);
      });
    },
  };

  async function run(m: InboundMessage): Promise<InboundResult> {
    const tenantId = await host.tenants.tenantOf(m.channel, m.sender);
    const c: InboundContext = {
      m,
      tenantId,
      scope: tenantId ? host.tenants.scope(tenantId) : null,
      attachments: [],
      notes: [],
      stored: false,
      limit: o.maxMediaBytes ?? host.blobs.maxBytes,
      host,
      o,
    };
    for (const stage of STAGES) {
      const r = await stage(c);
      if (r) return r;
    }
    return toInbox(c);
  }
}

/** Something already answered (a pairing, a refused decision, a button press): a redelivery answers nothing again. */
async function answeredAlready(c: InboundContext): Promise<InboundResult | null> {
  if (!c.scope || !c.m.answerKey) return null;
  return (await outbox.parts(c.scope, c.m.answerKey)).length ? { kind: "done", tenantId: c.tenantId } : null;
}

async function knownSender(c: InboundContext): Promise<null> {
  if (c.tenantId) await c.o.onKnownSender?.(c.tenantId, c.m);
  return null;
}

/** A decision button: only its presser's tenant, in the conversation the approval was asked in, decides it. */
async function pressButton(c: InboundContext): Promise<InboundResult | null> {
  if (c.m.button === undefined) return null;
  const { decided, text } = await c.host.decisions.byButton(c.tenantId, c.m.button, `${c.m.channel}:${c.m.sender}`, {
    channel: c.m.channel,
    conversation: c.m.conversation,
  });
  return { kind: "button", tenantId: c.tenantId, text, decided };
}

/** Stickers, locations, contacts, …: not read, and said so rather than ignored. */
async function unreadable(c: InboundContext): Promise<InboundResult | null> {
  if (c.m.text || c.m.files.length) return null;
  return { kind: "reply", tenantId: c.tenantId, text: c.tenantId ? UNREADABLE_REPLY : UNPAIRED_REPLY };
}

/** `YES K7QF`, `no k7qf`: a decision by the approval's code, for chats without buttons (and any chat). */
async function decideByCode(c: InboundContext): Promise<InboundResult | null> {
  if (!c.tenantId) return null;
  const d = await c.host.decisions.byReply(c.tenantId, c.m.text, `${c.m.channel}:${c.m.sender}`, {
    channel: c.m.channel,
    conversation: c.m.conversation,
  });
  if (!d) return null;
  return d.kind === "refused"
    ? { kind: "reply", tenantId: c.tenantId, text: d.text }
    : { kind: "done", tenantId: c.tenantId };
}

/** Someone unknown: a pairing, or instructions; nothing of theirs is fetched or kept. */
async function stranger(c: InboundContext): Promise<InboundResult | null> {
  return c.tenantId ? null : toInbox(c);
}

/** A redelivery of a message with files finds it (and its blobs) stored: nothing is fetched again. */
async function storedAlready(c: InboundContext): Promise<null> {
  if (!c.scope || !c.m.files.length) return null;
  const session = await sessions.find(c.scope, c.m.channel, c.m.conversation);
  const seen = session ? await sessions.bySource(c.scope, session.id, c.m.sourceKey) : null;
  if (seen) {
    c.stored = true;
    c.attachments = seen.attachments ?? [];
  }
  return null;
}

/** Into the inbox: persisted (deduplicated by its source key), then a turn, or a pairing, or instructions. */
async function toInbox(c: InboundContext): Promise<InboundResult> {
  const { m } = c;
  const text = [m.text, ...c.notes].join("\n");
  const out = await c.host.inbox.fromIdentity({
    channel: m.channel,
    externalId: m.sender,
    conversation: m.conversation,
    text,
    sourceKey: m.sourceKey,
    ...(m.display ? { display: m.display } : {}),
    ...(c.attachments.length ? { attachments: c.attachments } : {}),
  });
  if (out.kind === "turn") return { kind: "turn", tenantId: out.tenantId, started: !out.received.duplicate };
  return { kind: "reply", tenantId: out.kind === "paired" ? out.tenantId : null, text: out.reply };
}
