/**
 * The ports between channels and the rest of agentd, each as small as its edge needs. Calls go two
 * ways, never through the whole app object:
 * - out: the agent loop hands `Deliveries` a reply, an approval request or a notice; a channel's
 *   `ChannelAdapter` pushes it to the person (registered on `AdapterRegistry`);
 * - in: a channel turns its wire format into an inbound message for the pipeline (inbound/), which
 *   talks to the inbox, the decisions, the blobs and the tenants through the ports of `ChannelHost`.
 */
import type { MediaPort } from "../media/port.ts";
import type { Db } from "../db/index.ts";
import type { Attachment } from "../blobs/types.ts";
import type { ComponentCheck } from "../health/checks.ts";
import type { IdentityMessage, IdentityOutcome } from "../sessions/inbox.ts";
import type { Session } from "../sessions/store.ts";
import type { TenantScope } from "../tenancy/scope.ts";

// ── out: what a turn sends to a person ──────────────────────────────────────────────────────────

/** Something a turn sends to a person: its reply, an approval request, a background notice. */
export interface Delivery {
  tenantId: string;
  session: Session;
  kind: "reply" | "approval" | "notice";
  text: string;
  /** Stable across retries and replays: an adapter that sees it twice sends once. */
  key: string;
  /** The run this delivery comes from, when a turn sends it (live views of that run end with it). */
  runId?: string;
  /**
   * Files that go with a reply (a screenshot the person asked for): each is one more part of the
   * delivery, after the text, sent once (the outbox records it like a text part). Channels without a
   * way to send files (the terminal, HTTP) show them from the reply's message, which carries them.
   */
  files?: Attachment[];
  /** For approvals: what buttons or reply codes decide. */
  approval?: { id: string; code: string; tool: string; subject: string; always?: string };
}

/** What a turn shows while it works: a typing indicator, then the reply as the model writes it. */
export interface LiveView {
  /** The text of the model call in progress so far; replaces what was shown. Empty: still thinking. */
  update(text: string): void;
  /** The turn is over (the final reply goes through `deliver`); stops timers, drops drafts. */
  close(): Promise<void>;
}

/** Where a live view is shown: a turn (its run) in a session of a tenant. */
export interface LiveTarget {
  tenantId: string;
  session: Session;
  runId: string;
}

/** What a delivery held for WhatsApp's 24-hour window is sent as again (held.ts): its key and what to send. */
export type HeldDelivery = { key: string } & Pick<Delivery, "kind" | "text" | "approval">;

/** A channel's own send of one held delivery to a conversation (it skips the delivery's parts already sent). */
export type HeldSender = (tenantId: string, conversation: string, d: HeldDelivery) => Promise<void>;

/** What WhatsApp's channels use when a person writes again (held.ts says why parts are held). */
export interface HeldPort {
  /**
   * The person wrote, so the 24-hour window is open: when anything is held for the conversation, a
   * run that sends it again is stored before this resolves (before the webhook answers). A process
   * that stops after the answer (a function frozen, a crash) leaves the run to the next worker or tick.
   */
  opened(tenantId: string, channel: string, conversation: string): Promise<void>;
  /** How a channel sends its held deliveries; registered by the processes that execute runs. */
  sender(channel: string, send: HeldSender): void;
}

/** A channel that pushes to people (Telegram, SMS, …). HTTP and terminal clients read history and streams instead. */
export interface ChannelAdapter {
  readonly channel: string;
  deliver(d: Delivery): Promise<void>;
  /** A live view of a turn in a session of this channel; channels that can't show one leave this out. */
  live?(t: LiveTarget): LiveView;
}

/** Finds adapters registered on demand (a tenant's own bot, say) by channel name. */
export type AdapterResolver = (channel: string) => Promise<ChannelAdapter | null>;

/** The agent loop's port to the channels: it depends on this and nothing else of channels/. */
export interface Deliveries {
  /** Pushes to the session's channel when it has an adapter; otherwise the persisted history is the delivery. */
  deliver(d: Delivery): Promise<void>;
  /** A live view for a turn, or null when the session's channel shows none. */
  live(t: LiveTarget): Promise<LiveView | null>;
}

/** Where channels put their adapters, for deliveries in this process. */
export interface AdapterRegistry {
  register(adapter: ChannelAdapter): unknown;
  /** Asked, in order, for channels no adapter is registered for. */
  addResolver(resolve: AdapterResolver): unknown;
}

// ── in: what a channel's messages reach ─────────────────────────────────────────────────────────

/** The inbox: a message of a channel identity is persisted, then its turn started (or the identity paired, or told how to pair). */
export interface InboxPort {
  fromIdentity(m: IdentityMessage): Promise<IdentityOutcome>;
}

/** Where a decision comes from: the channel and conversation (chat, phone number) it was made in. */
export interface Where {
  channel: string;
  conversation: string;
}

/** What a decision by reply code led to (see decisions.ts). */
export type ReplyDecision = { kind: "decided" } | { kind: "replayed" } | { kind: "refused"; text: string };

/** Approvals decided from a channel: a button bound to one approval, or a reply naming its code. */
export interface DecisionsPort {
  byButton(
    tenantId: string | null,
    data: string,
    by: string,
    where: Where,
  ): Promise<{ decided: boolean; text: string }>;
  /** Null when the text is not a decision (or names nothing of this tenant's): an ordinary message. */
  byReply(tenantId: string, text: string, by: string, where: Where): Promise<ReplyDecision | null>;
}

/** Which tenant a channel identity belongs to, and a tenant's data (every statement names its tenant). */
export interface TenantsPort {
  tenantOf(channel: string, externalId: string): Promise<string | null>;
  scope(tenantId: string): TenantScope;
  get(tenantId: string): Promise<{ id: string } | null>;
}

/** Where the files people send are kept, and where the files a reply sends are read from. */
export interface BlobsPort {
  put(tenantId: string, data: Uint8Array, meta: { mime: string; name?: string; source?: string }): Promise<Attachment>;
  /** A tenant's blob (null when it has no such id). */
  get(tenantId: string, id: string): Promise<{ attachment: Attachment; data: Uint8Array } | null>;
  /** The largest file kept, in bytes (AGENTD_MAX_MEDIA_BYTES). */
  readonly maxBytes: number;
}

/** Where a channel reports the state of its link to the provider (/health, /metrics); returns what removes the check. */
export interface HealthPort {
  add(name: string, check: ComponentCheck): () => void;
}

/**
 * Everything a channel may reach, by port. Each channel function takes the `Pick` of it that it
 * uses, so its signature says which way its calls go. `db` is the OS store, for the channels' own
 * tables (outbox, inbound log, tenant bots) and nothing else; `now` is the kernel's clock.
 */
export interface ChannelHost {
  inbox: InboxPort;
  decisions: DecisionsPort;
  tenants: TenantsPort;
  blobs: BlobsPort;
  health: HealthPort;
  adapters: AdapterRegistry;
  db: Db;
  now(): number;
  /** Voice notes transcribed and documents read (media/); absent: files stay notes naming them. */
  media?: MediaPort;
  /** Deliveries held for WhatsApp's 24-hour window, sent again by a durable run when the person writes. */
  held: HeldPort;
}
