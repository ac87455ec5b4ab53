import type {
  AdapterRegistry,
  AdapterResolver,
  ChannelAdapter,
  Deliveries,
  Delivery,
  LiveTarget,
  LiveView,
} from "./ports.ts";

/**
 * The channels' adapters in this process, by channel name: the agent delivers through it (as
 * `Deliveries`), channels register on it (as `AdapterRegistry`). A channel without an adapter here
 * (HTTP, the terminal) gets nothing pushed: its persisted history is the delivery.
 */
export class ChannelRegistry implements Deliveries, AdapterRegistry {
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

  async deliver(d: Delivery): Promise<void> {
    await (await this.adapter(d.session.channel))?.deliver(d);
  }

  async live(t: LiveTarget): Promise<LiveView | null> {
    const a = await this.adapter(t.session.channel);
    return a?.live ? a.live(t) : null;
  }
}
