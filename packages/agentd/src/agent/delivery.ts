import type { Session } from "../sessions/store.ts";

/** Something a turn sends to a person: its reply, an approval request, a background notice. */
export interface Delivery {
  tenantId: string;
  session: Session;
  kind: "reply" | "approval" | "notice";
  text: string;
  /** Stable across retries and replays: an adapter that sees it twice sends once. */
  key: string;
  /** For approvals: what buttons or reply codes decide. */
  approval?: { id: string; code: string; tool: string; subject: string };
}

/** A channel that pushes to people (Telegram, SMS, …). HTTP and terminal clients read history and streams instead. */
export interface ChannelAdapter {
  readonly channel: string;
  deliver(d: Delivery): Promise<void>;
}

export class Channels {
  readonly #adapters = new Map<string, ChannelAdapter>();

  register(adapter: ChannelAdapter): this {
    this.#adapters.set(adapter.channel, adapter);
    return this;
  }

  has(channel: string): boolean {
    return this.#adapters.has(channel);
  }

  list(): string[] {
    return [...this.#adapters.keys()];
  }

  /** Pushes to the session's channel when it has an adapter; otherwise the persisted history is the delivery. */
  async deliver(d: Delivery): Promise<void> {
    await this.#adapters.get(d.session.channel)?.deliver(d);
  }
}
