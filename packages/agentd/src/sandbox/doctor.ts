import type { NetPolicy } from "../net/policy.ts";
import type { SandboxConfig } from "./host.ts";
import { probeSandbox } from "./probe.ts";

/** `agentd doctor`'s line for the sandbox: whether run_code can run here, and if not why and what to do. */
export async function checkSandbox(
  c: SandboxConfig,
  net: NetPolicy,
): Promise<{ name: string; ok: boolean; text: string }> {
  const name = "sandbox";
  if (!c.enabled) return { name, ok: true, text: "off (AGENTD_SANDBOX=0): run_code is not offered" };
  const probe = await probeSandbox(c.bwrap, net);
  if (probe.ok) return { name, ok: true, text: probe.text };
  if (c.allowUnsandboxed)
    return {
      name,
      ok: true,
      text: `NOT SANDBOXED: ${probe.text}; run_code runs code without isolation, as agentd's user, because AGENTD_UNSANDBOXED_CODE=1`,
    };
  return {
    name,
    ok: false,
    text: `${probe.text}; run_code refuses to run code until this is fixed (AGENTD_UNSANDBOXED_CODE=1 would run it without isolation)`,
  };
}
