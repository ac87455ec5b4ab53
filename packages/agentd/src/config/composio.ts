import type { ComposioConfig } from "../composio/config.ts";
import { parseToolkitVersions } from "../composio/config.ts";
import type { Env } from "./variables.ts";

/** Composio's settings (checked by the schema: the versions parse). */
export function composioConfig(e: Env): ComposioConfig {
  const baseURL = e.AGENTD_COMPOSIO_BASE_URL?.replace(/\/+$/, "");
  return {
    ...(e.AGENTD_COMPOSIO_API_KEY ? { apiKey: e.AGENTD_COMPOSIO_API_KEY } : {}),
    ...(baseURL ? { baseURL } : {}),
    versions: parseToolkitVersions(e.AGENTD_COMPOSIO_TOOLKIT_VERSIONS),
  };
}
