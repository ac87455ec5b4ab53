import { type Kernel, RetryableError, type Workflow, workflow } from "@agentd/kernel";
import type { TenantScope } from "../tenancy/scope.ts";
import { takeHeldDeliveries } from "./held.ts";
import type { HeldDelivery, HeldPort, HeldSender } from "./ports.ts";
import { outbox } from "./outbox.ts";

export const HELD_WORKFLOW = "channel.held";

interface HeldInput {
  tenantId: string;
  channel: string;
  conversation: string;
}

/** Held deliveries sent again by a durable run (`channel.held`): taken once, then each sent in its own step. */
export class HeldDeliveries implements HeldPort {
  readonly workflow: Workflow<HeldInput, { sent: number }>;
  readonly #senders = new Map<string, HeldSender>();
  readonly #kernel: Pick<Kernel, "start">;
  readonly #scope: (tenantId: string) => TenantScope;

  constructor(deps: {
    kernel: Pick<Kernel, "start" | "registry">;
    scope: (tenantId: string) => TenantScope;
    now: () => number;
  }) {
    this.#kernel = deps.kernel;
    this.#scope = deps.scope;
    this.workflow = workflow<HeldInput, { sent: number }>(HELD_WORKFLOW, async (ctx, input) => {
      const scope = deps.scope(input.tenantId);
      // The run's id names the taker: a retried step gets the same parts back.
      const taken = await ctx.step("take", (step) =>
        takeHeldDeliveries(deps.now, scope, input.channel, input.conversation, {
          by: step.runId,
          again: step.attempt > 1,
        }),
      );
      for (const d of taken) await ctx.step(`send ${d.key}`, () => this.#send(input, d));
      return { sent: taken.length };
    });
    deps.kernel.registry.add(this.workflow as Workflow<never, unknown>);
  }

  async opened(tenantId: string, channel: string, conversation: string): Promise<void> {
    if (!(await outbox.hasHeld(this.#scope(tenantId), channel, conversation))) return;
    await this.#kernel.start(this.workflow, { tenantId, channel, conversation }, { namespace: tenantId });
  }

  sender(channel: string, send: HeldSender): void {
    this.#senders.set(channel, send);
  }

  async #send(input: HeldInput, d: HeldDelivery): Promise<void> {
    const send = this.#senders.get(input.channel);
    // A worker without this channel (configured elsewhere only): another worker, or a later one, sends it.
    if (!send) throw new RetryableError(`no ${input.channel} channel in this process to send ${d.key} again`);
    await send(input.tenantId, input.conversation, d);
  }
}
