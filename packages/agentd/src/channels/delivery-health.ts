import type { ComponentState } from "../health/checks.ts";
import { redactSecrets } from "../vault/redact.ts";
import type { AdapterRegistry, ChannelAdapter, HealthPort } from "./ports.ts";

/**
 * A webhook channel's health (Twilio, WhatsApp's Cloud API): how it is reached, and whether its
 * last reply went out. Webhook channels have no connection to watch, so the outcome of their own
 * deliveries is what says they work: a provider refusing the key or the number shows here at the
 * first reply it refuses, and clears at the next one delivered. Per process: a worker's deliveries
 * show in that worker's /health (with `agentd start`, the one process).
 */
export function deliveryHealth(
  o: { health: HealthPort; adapters: AdapterRegistry },
  name: string,
  how: string,
  secrets: readonly string[],
  now: () => number,
): AdapterRegistry {
  let delivered: number | null = null;
  let failed: { at: number; why: string } | null = null;
  o.health.add(name, (): ComponentState => {
    const last = delivered === null ? "no reply sent by this process yet" : `last reply delivered ${iso(delivered)}`;
    if (failed && (delivered === null || failed.at >= delivered))
      return { ok: false, detail: `${how}; the last reply failed ${iso(failed.at)}: ${failed.why} (${last})` };
    return { ok: true, detail: `${how}; ${last}` };
  });
  const watched = (a: ChannelAdapter): ChannelAdapter =>
    Object.assign(Object.create(a) as ChannelAdapter, {
      async deliver(d: Parameters<ChannelAdapter["deliver"]>[0]) {
        try {
          await a.deliver(d);
          delivered = now();
        } catch (e) {
          // The provider's words, without the channel's own keys (an error may quote a URL or a header).
          const why = redactSecrets(e instanceof Error ? e.message : String(e), secrets).slice(0, 300);
          failed = { at: now(), why };
          throw e;
        }
      },
    });
  return {
    register: (a) => o.adapters.register(watched(a)),
    addResolver: (r) => o.adapters.addResolver(r),
  };
}

const iso = (ms: number) => `at ${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} UTC`;
