import { join } from "node:path";
import { AgentdError } from "../errors.ts";
import type { NetPolicy } from "../net/policy.ts";
import { probeSandbox, type SandboxProbe } from "./probe.ts";
import { createSandbox } from "./runner.ts";
import type { Sandbox, SandboxLimits } from "./types.ts";

export interface SandboxConfig {
  /** AGENTD_SANDBOX: run_code is offered. */
  enabled: boolean;
  bwrap: string;
  /** AGENTD_UNSANDBOXED_CODE: the operator allows code to run without bubblewrap when it cannot run. */
  allowUnsandboxed: boolean;
  limits: SandboxLimits;
  /** A tenant's workspace beyond this refuses new runs. */
  workspaceBytes: number;
}

/** A failed probe is tried again after this long (an operator may fix the machine without a restart). */
const RETRY_MS = 60_000;

/**
 * The machine's sandbox, found out once: bubblewrap when it works here, else (only if the operator
 * allowed it) code without isolation, else an error that says why and what to do. Workspaces live
 * in `<dataDir>/sandbox`.
 */
export class SandboxHost {
  readonly config: SandboxConfig;
  readonly root: string;
  readonly #net: NetPolicy;
  #probe: { at: number; result: Promise<SandboxProbe> } | null = null;
  #sandbox: Sandbox | null = null;

  constructor(config: SandboxConfig, dataDir: string, net: NetPolicy) {
    this.config = config;
    this.root = join(dataDir, "sandbox");
    this.#net = net;
  }

  /** The sandbox to run in; throws `unavailable` when there is none and the operator did not allow running without. */
  async get(): Promise<Sandbox> {
    if (this.#sandbox) return this.#sandbox;
    const now = Date.now();
    if (!this.#probe || (now - this.#probe.at > RETRY_MS && !(await this.#probe.result).ok))
      this.#probe = { at: now, result: probeSandbox(this.config.bwrap, this.#net) };
    const probe = await this.#probe.result;
    const options = { bwrap: this.config.bwrap, root: this.root, net: this.#net, limits: this.config.limits };
    if (probe.ok) this.#sandbox = createSandbox({ mode: "bwrap", ...options });
    else if (this.config.allowUnsandboxed) this.#sandbox = createSandbox({ mode: "none", ...options });
    else
      throw new AgentdError(
        "unavailable",
        `code cannot run: there is no working sandbox on this machine (${probe.text}). An operator can fix that (see \`agentd doctor\`), or set AGENTD_UNSANDBOXED_CODE=1 to run code without isolation`,
      );
    return this.#sandbox;
  }
}
