/** The state of one part of agentd that can fail on its own (a channel, a poller), as /health shows it. */
export interface ComponentState {
  ok: boolean;
  /** What is wrong and what to do, or what it is doing; never a secret. */
  detail: string;
}

export type ComponentCheck = () => ComponentState | Promise<ComponentState>;

/**
 * The port through which parts report their health: a channel adds a check when it starts and
 * removes it when it stops; /health and /metrics ask every check at each request.
 */
export class HealthChecks {
  readonly #checks = new Map<string, ComponentCheck>();

  /** Adds (or replaces) the check named `name`; returns what removes it. */
  add(name: string, check: ComponentCheck): () => void {
    this.#checks.set(name, check);
    return () => {
      if (this.#checks.get(name) === check) this.#checks.delete(name);
    };
  }

  /** Every component's state; a check that throws counts as down, with its message. */
  async states(): Promise<({ name: string } & ComponentState)[]> {
    return Promise.all(
      [...this.#checks].map(async ([name, check]) => {
        try {
          return { name, ...(await check()) };
        } catch (e) {
          return { name, ok: false, detail: `its health check failed: ${e instanceof Error ? e.message : String(e)}` };
        }
      }),
    );
  }
}
