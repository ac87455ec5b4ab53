import type { Session } from "../sessions/store.ts";

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

/** A channel that pushes to people (Telegram, SMS, …). HTTP and terminal clients read history and streams instead. */
export interface ChannelAdapter {
  readonly channel: string;
  deliver(d: Delivery): Promise<void>;
  /** A live view of a turn in a session of this channel; channels that can't show one leave this out. */
  live?(t: { tenantId: string; session: Session; runId: string }): LiveView;
}

/** Finds adapters registered on demand (a tenant's own bot, say) by channel name. */
export type AdapterResolver = (channel: string) => Promise<ChannelAdapter | null>;

export class Channels {
  readonly #adapters = new Map<string, ChannelAdapter>();
  readonly #resolvers: AdapterResolver[] = [];

  register(adapter: ChannelAdapter): this {
    this.#adapters.set(adapter.channel, adapter);
    return this;
  }

  unregister(channel: string): void {
    this.#adapters.delete(channel);
  }

  /** Asked, in order, for channels no adapter is registered for. */
  addResolver(resolve: AdapterResolver): this {
    this.#resolvers.push(resolve);
    return this;
  }

  has(channel: string): boolean {
    return this.#adapters.has(channel);
  }

  list(): string[] {
    return [...this.#adapters.keys()];
  }

  async adapter(channel: string): Promise<ChannelAdapter | null> {
    const known = this.#adapters.get(channel);
    if (known) return known;
    for (const resolve of this.#resolvers) {
      const found = await resolve(channel);
      if (found) return found;
    }
    return null;
  }

  /** Pushes to the session's channel when it has an adapter; otherwise the persisted history is the delivery. */
  async deliver(d: Delivery): Promise<void> {
    await (await this.adapter(d.session.channel))?.deliver(d);
  }

  /** A live view for a turn, or null when the session's channel shows none. */
  async live(t: { tenantId: string; session: Session; runId: string }): Promise<LiveView | null> {
    const a = await this.adapter(t.session.channel);
    return a?.live ? a.live(t) : null;
  }
}
