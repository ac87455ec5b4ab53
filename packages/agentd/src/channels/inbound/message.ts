/**
 * What every channel hands the inbound pipeline, and what it gets back. A channel translates its wire
 * format (a Telegram update, Twilio's form post, a Cloud API webhook) into an `InboundMessage`, and
 * the `InboundResult` into its wire replies; everything between is the pipeline's (pipeline.ts).
 */

/** A file in a message, fetched only when the pipeline keeps it (a paired sender, not a redelivery). */
export interface InboundMedia {
  /**
   * The file's bytes, at most `limit` of them. Throws MediaTooLargeError when it is larger (the
   * message is refused, without a turn), a permanent MediaFetchError when it can never be fetched
   * (the message goes on with a note), anything else when trying again may help (the channel fails
   * its webhook, the provider delivers the message again).
   */
  fetch(limit: number): Promise<{ data: Uint8Array; mime: string; name?: string }>;
}

export interface InboundMessage {
  /** The channel identities and sessions are filed under ("telegram", "sms", "whatsapp-cloud", "telegram:<botId>", …). */
  channel: string;
  /** Who sent it, as the channel names people (a Telegram user id, a phone number). */
  sender: string;
  /** Where answers go (a chat, a phone number). */
  conversation: string;
  /** The sender's name, when the channel gives one. */
  display?: string;
  /** The message's own key (`tg:<update id>`, `twilio:<MessageSid>`, `wa:<wamid>`): a redelivery is found by it, never stored twice. */
  sourceKey: string;
  /** The text, or a file's caption; "" for none. */
  text: string;
  files: InboundMedia[];
  /** The data of a decision button pressed (Telegram's inline keyboard, WhatsApp's reply buttons). */
  button?: string;
  /**
   * The outbox key the channel's answers to this message are recorded under (channels that answer
   * through the outbox): a message already answered is not handled again.
   */
  answerKey?: string;
  /**
   * The provider and its id of the message, for signed webhooks that may be replayed: handled ones
   * are logged durably (under the provider's name: "twilio" serves two channels), and a replay does nothing.
   */
  provider?: { name: string; messageId: string };
  /** More keys of this delivery (a provider's idempotency token): a retry in flight under any of them waits for the first. */
  retryKeys?: string[];
}

/** What became of a message, for the channel to answer on its wire. `tenantId`: the sender's tenant after it (null: someone unknown). */
export type InboundResult =
  /** A turn answers it; `started` is false when the message was stored before (a redelivery): no second typing indicator. */
  | { kind: "turn"; tenantId: string; started: boolean }
  /** Tell the person `text`: instructions, a pairing, a refused decision, a file too large, a kind of message no channel reads. */
  | { kind: "reply"; tenantId: string | null; text: string }
  /** A decision button was pressed: `text` says what came of it, `decided` whether it decided anything. */
  | { kind: "button"; tenantId: string | null; text: string; decided: boolean }
  /** Nothing to do or say: a replay, a retry of a message handled, a decision by code already recorded. */
  | { kind: "done"; tenantId: string | null };
