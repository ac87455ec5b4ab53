import { ComposioClients, callOptions, describeComposioError } from "./client.ts";
import type { ComposioConfig } from "./config.ts";

/** `agentd doctor`'s Composio line: the operator's key asked of Composio (a cheap read, never a paid call). */
export async function checkComposio(
  c: ComposioConfig,
  publicUrl: string | undefined,
): Promise<{ name: string; ok: boolean; text: string }> {
  const name = "composio";
  if (!c.apiKey)
    return {
      name,
      ok: true,
      text: "not set up for every tenant (AGENTD_COMPOSIO_API_KEY does it; a tenant may store its own key in its vault as COMPOSIO_API_KEY)",
    };
  const host = new URL(c.baseURL ?? "https://backend.composio.dev").host;
  try {
    const sdk = await new ComposioClients(c).get(c.apiKey);
    await sdk.authConfigs.list({ limit: 1 }, callOptions());
  } catch (e) {
    return {
      name,
      ok: false,
      text: `${describeComposioError(e, c.apiKey)}: check AGENTD_COMPOSIO_API_KEY and AGENTD_COMPOSIO_BASE_URL`,
    };
  }
  if (!publicUrl)
    return {
      name,
      ok: false,
      text: `${host} accepts the key, but Connect Links need AGENTD_PUBLIC_URL (Composio sends the person back to <it>/composio/callback)`,
    };
  const pinned = Object.keys(c.versions);
  return {
    name,
    ok: true,
    text: `${host} accepts the key; ${pinned.length ? `toolkits pinned: ${pinned.join(", ")}` : "no toolkit pinned (tools run at the version they report; AGENTD_COMPOSIO_TOOLKIT_VERSIONS pins them)"}`,
  };
}
