import type { Attachment } from "../../blobs/types.ts";
import type { TenantScope } from "../../tenancy/scope.ts";
import type { ChannelHost } from "../ports.ts";
import type { InboundMessage, InboundResult } from "./message.ts";

/** What the pipeline reaches: the inbox, the decisions, the tenants, the blobs, the OS store (inbound log, outbox), the clock and media (reading what people send). */
export type InboundHost = Pick<ChannelHost, "inbox" | "decisions" | "tenants" | "blobs" | "db" | "now" | "media">;

export interface InboundOptions {
  /** The largest file kept, in bytes (default: the blob store's, AGENTD_MAX_MEDIA_BYTES). */
  maxMediaBytes?: number;
  /** Lines worth an operator's look (a file dropped); never a secret. */
  log(line: string): void;
  /** A person of a tenant wrote (WhatsApp: the 24-hour window opens, deliveries held for it go out). */
  onKnownSender?(tenantId: string, m: InboundMessage): void | Promise<void>;
}

/** One message on its way in: who sent it, and what the stages gathered for the inbox so far. */
export interface InboundContext {
  m: InboundMessage;
  tenantId: string | null;
  scope: TenantScope | null;
  attachments: Attachment[];
  /** Lines appended to the text (an attachment that was not kept), so the agent knows. */
  notes: string[];
  /** The message was stored before (a redelivery): its attachments are those stored, nothing is fetched again. */
  stored: boolean;
  limit: number;
  host: InboundHost;
  o: InboundOptions;
}

/** A stage: a result ends the message there; null passes it on. */
export type InboundStage = (c: InboundContext) => Promise<InboundResult | null>;
