import type { Clock } from "../clock.ts";
import type { Store } from "../store/types.ts";
import type { Registry } from "../workflow.ts";

/** What lease renewal needs from its worker. */
export interface RenewalHost {
  readonly id: string;
  readonly store: Store;
  readonly clock: Clock;
  readonly registry: Registry;
  readonly leaseMs: number;
  running(): boolean;
  /** The runs whose leases this worker holds in the store now, at the epochs it claimed them. */
  leases(): { id: string; epoch: number }[];
  /** The store says the lease on `id` at `epoch` is gone (taken over or cancelled): stop executing it. */
  lost(id: string, epoch: number): void;
  onError(e: unknown, where: string): void;
}

/**
 * Keeps a worker's claims alive: every third of a lease it records its heartbeat (alive, and the
 * workflow versions it executes) and extends the leases of the runs it holds. A run whose lease the
 * store no longer grants is stopped here, since another worker may be executing it already.
 */
export class LeaseRenewal {
  readonly #host: RenewalHost;
  #timer: unknown = null;
  #renewing = false;
  #startedAt = 0;

  constructor(host: RenewalHost) {
    this.#host = host;
  }

  /** The worker started: its first heartbeat now, renewals from here on. */
  start(): void {
    this.#startedAt = this.#host.clock.now();
    void this.heartbeat();
    this.renew();
  }

  /** Arms the next renewal (a drain renews without heartbeats of its own at start). */
  renew(): void {
    const host = this.#host;
    this.#timer = host.clock.setTimer(
      async () => {
        if (!host.running()) return;
        this.#renewing = true;
        const held = host.leases();
        await this.heartbeat();
        if (!host.running()) return void (this.#renewing = false);
        try {
          const lost = await host.store.renewLeases(host.id, held, host.clock.now() + host.leaseMs);
          // A renewal answers for the epochs it sent: a run claimed again since then is not the one it lost.
          const sent = new Map(held.map((h) => [h.id, h.epoch]));
          for (const id of lost) {
            const epoch = sent.get(id);
            if (epoch !== undefined) host.lost(id, epoch);
          }
        } catch (e) {
          if (host.running()) host.onError(e, "renewing leases");
        }
        this.#renewing = false;
        this.renew();
      },
      Math.max(1, Math.floor(host.leaseMs / 3)),
    );
  }

  stop(): void {
    if (this.#timer !== null) this.#host.clock.clearTimer(this.#timer);
  }

  /** Resolves once no renewal is in flight: one finishing after the worker's row is removed would write it back. */
  async settled(): Promise<void> {
    while (this.#renewing) await new Promise((r) => setImmediate(r));
  }

  /** Tells the store this worker is alive and which workflow versions it executes. */
  async heartbeat(): Promise<void> {
    const host = this.#host;
    try {
      await host.store.heartbeat({
        id: host.id,
        workflows: host.registry.served(),
        startedAt: this.#startedAt,
        heartbeatAt: host.clock.now(),
      });
    } catch (e) {
      if (host.running()) host.onError(e, "recording the worker's heartbeat");
    }
  }
}
