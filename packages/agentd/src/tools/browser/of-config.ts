import type { NetPolicy } from "../../net/policy.ts";
import type { TenantScope } from "../../tenancy/scope.ts";
import type { Vault } from "../../vault/vault.ts";
import { BrowserManager } from "./manager.ts";
import { vaultStateStore } from "./state.ts";

/** This worker's browser as the configuration asks for it (one Chromium, launched on first use), or null when it is off. */
export function browserOf(
  config: { browser: { chromium: string | null; maxContexts: number; idleMs: number }; net: NetPolicy },
  vault: Vault,
  scope: (tenantId: string) => TenantScope,
): BrowserManager | null {
  const chromium = config.browser.chromium;
  if (!chromium) return null;
  return new BrowserManager({
    executablePath: chromium,
    net: config.net,
    state: vaultStateStore(vault, scope),
    limits: { maxContexts: config.browser.maxContexts, idleMs: config.browser.idleMs },
  });
}
