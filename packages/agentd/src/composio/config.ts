/** What the operator sets for Composio (AGENTD_COMPOSIO_*): its key, where its API is, the toolkit versions tools run at. */
export interface ComposioConfig {
  /** The operator's API key; a tenant's own (its vault's COMPOSIO_API_KEY) goes before it. */
  apiKey?: string;
  /** The Composio API (default https://backend.composio.dev); tests point it at a stand-in. */
  baseURL?: string;
  /** Toolkit versions tools list and run at ("github" → "20250909_00"); a toolkit not named runs at the version its tool reports. */
  versions: Record<string, string>;
}

/** A toolkit's slug as Composio names them: lowercase letters, digits, underscores. */
export const TOOLKIT = /^[a-z0-9_]{1,64}$/;

/** Parses AGENTD_COMPOSIO_TOOLKIT_VERSIONS: "github=20250909_00,slack=20250902_00". */
export function parseToolkitVersions(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (raw ?? "").split(",")) {
    const item = part.trim();
    if (!item) continue;
    const [toolkit, version, extra] = item.split("=").map((s) => s.trim());
    if (
      !toolkit ||
      !TOOLKIT.test(toolkit) ||
      !version ||
      extra !== undefined ||
      !/^[A-Za-z0-9_.-]{1,40}$/.test(version)
    )
      throw new Error(`"${item.slice(0, 80)}" is not toolkit=version (e.g. github=20250909_00)`);
    if (version === "latest")
      throw new Error(`${toolkit}: pin a version rather than "latest" (tools run at a fixed version)`);
    out[toolkit] = version;
  }
  return out;
}
