import { z } from "zod";
import { parseToolkitVersions } from "../composio/config.ts";
import { url, v } from "./kinds.ts";

/** Composio's variables (src/composio), a part of `Env` (variables.ts). */
export const composioVariables = {
  AGENTD_COMPOSIO_API_KEY: v(z.string().min(1).optional(), {
    section: "connections",
    doc: "the operator's Composio API key: every tenant may connect Composio's toolkits (a tenant's own key in its vault as COMPOSIO_API_KEY goes first)",
    secret: true,
  }),
  AGENTD_COMPOSIO_BASE_URL: v(url(["https:", "http:"], "https://backend.composio.dev").optional(), {
    section: "connections",
    doc: "the Composio API",
    default: "https://backend.composio.dev",
  }),
  AGENTD_COMPOSIO_TOOLKIT_VERSIONS: v(
    z
      .string()
      .superRefine((raw, ctx) => {
        try {
          parseToolkitVersions(raw);
        } catch (e) {
          ctx.addIssue({ code: "custom", message: (e as Error).message });
        }
      })
      .optional(),
    {
      section: "connections",
      doc: "toolkit versions Composio tools list and run at, as toolkit=version pairs (github=20250909_00,slack=20250902_00); a toolkit not named runs at the version its tool reports, never latest",
    },
  ),
};
