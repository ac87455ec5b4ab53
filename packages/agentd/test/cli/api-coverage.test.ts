// Everything the operator's API does, the CLI does: every operation of the API's table (api/operations.ts)
// is named here with the command that does it (its usage lines must show it), or with why it has none.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DESCRIBED } from "../../src/api/operations.ts";
import { HELP } from "../../src/cli/help.ts";

/** Not an operator's: what other programs, browsers and providers call, with the reason. */
const NOT_THE_OPERATORS = "not the operator's";

const CLI: Record<string, string> = {
  "GET /health": "agentd doctor",
  "GET /metrics": `${NOT_THE_OPERATORS}: Prometheus scrapes it (agentd doctor and agentd workers say the same to a person)`,
  "GET /v1/openapi.json": `${NOT_THE_OPERATORS}: the API's own description, for programs`,
  "GET /handoff/:token": `${NOT_THE_OPERATORS}: the person's browser, through the link a turn sent`,
  "GET /handoff/:token/screen": `${NOT_THE_OPERATORS}: the person's browser`,
  "POST /handoff/:token/input": `${NOT_THE_OPERATORS}: the person's browser`,
  "POST /handoff/:token/done": `${NOT_THE_OPERATORS}: the person's browser`,
  "POST /v1/tenants": "agentd tenants create",
  "GET /v1/tenants": "agentd tenants [list]",
  "GET /v1/tenants/:id": "agentd tenants show",
  "PATCH /v1/tenants/:id": "agentd tenants rename|agentd tenants settings",
  "DELETE /v1/tenants/:id": "agentd tenants delete",
  "GET /v1/tenants/:id/keys": "agentd tenants keys",
  "POST /v1/tenants/:id/keys": "agentd tenants key",
  "DELETE /v1/tenants/:id/keys/:keyId": "agentd tenants revoke",
  "POST /v1/tenants/:id/pairing-codes": "agentd tenants pair",
  "GET /v1/tenants/:id/identities": "agentd tenants identities",
  "POST /v1/tenants/:id/identities": "agentd tenants bind",
  "DELETE /v1/tenants/:id/identities/:channel/:externalId": "agentd tenants unbind",
  "GET /v1/workers": "agentd workers",
  "GET /v1/admin/runs": "agentd runs",
  "GET /v1/model": "agentd doctor",
  "POST /v1/messages": "agentd chat",
  "GET /v1/sessions": "agentd sessions [list]",
  "GET /v1/sessions/:id": "agentd sessions show",
  "GET /v1/sessions/:id/messages": "agentd sessions show",
  "GET /v1/runs": "agentd runs [--tenant <id>]",
  "GET /v1/runs/:id": "agentd runs show",
  "GET /v1/runs/:id/journal": "agentd runs show",
  "POST /v1/runs/:id/retry": "agentd runs retry",
  "POST /v1/runs/:id/cancel": "agentd runs cancel",
  "GET /v1/runs/:id/stream": "agentd runs follow",
  "GET /v1/schedules": "agentd schedules [list]",
  "POST /v1/schedules": "agentd schedules add",
  "POST /v1/schedules/:id/pause": "agentd schedules pause",
  "POST /v1/schedules/:id/resume": "agentd schedules pause|resume",
  "GET /v1/schedules/:id/ticks": "agentd schedules ticks",
  "DELETE /v1/schedules/:id": "agentd schedules pause|resume|delete",
  "GET /v1/approvals": "agentd approvals [list]",
  "POST /v1/approvals/:id": "agentd approvals decide",
  "GET /v1/memory": "agentd memory [list]|agentd memory search",
  "POST /v1/memory": "agentd memory add",
  "DELETE /v1/memory/:id": "agentd memory delete",
  "GET /v1/secrets": "agentd secrets [list]",
  "PUT /v1/secrets/:name": "agentd secrets set",
  "DELETE /v1/secrets/:name": "agentd secrets delete",
  "GET /v1/policies": "agentd policies [list]",
  "PUT /v1/policies": "agentd policies set",
  "DELETE /v1/policies/:tool": "agentd policies remove",
  "GET /v1/usage": "agentd usage",
  "GET /v1/blobs": "agentd blobs [list]",
  "POST /v1/blobs": "agentd blobs upload",
  "GET /v1/blobs/:id": "agentd blobs get",
  "GET /oauth/callback": `${NOT_THE_OPERATORS}: the OAuth provider sends the person's browser there`,
  "GET /v1/connections": "agentd connections [list]",
  "POST /v1/connections/:name/connect": "agentd connections connect",
  "POST /v1/connections/:name/test": "agentd connections test",
  "DELETE /v1/connections/:name": "agentd connections remove",
  "GET /v1/oauth-apps": "agentd connections apps",
  "PUT /v1/oauth-apps/:name": "agentd connections apps add",
  "DELETE /v1/oauth-apps/:name": "agentd connections apps remove",
  "GET /v1/channels/telegram": "agentd bots [list]",
  "POST /v1/channels/telegram": "agentd bots add",
  "DELETE /v1/channels/telegram/:id": "agentd bots remove",
  "GET /v1/mcp/servers": "agentd mcp [list]",
  "POST /v1/mcp/servers": "agentd mcp add",
  "PATCH /v1/mcp/servers/:name": "agentd mcp enable|disable",
  "DELETE /v1/mcp/servers/:name": "agentd mcp remove",
  "POST /v1/mcp/servers/:name/test": "agentd mcp test",
  "GET /v1/ssh/hosts": "agentd ssh hosts [list]",
  "POST /v1/ssh/hosts": "agentd ssh hosts add",
  "POST /v1/ssh/hosts/:name/confirm": "agentd ssh hosts confirm",
  "DELETE /v1/ssh/hosts/:name": "agentd ssh hosts remove",
  "POST /v1/ssh/keys": "agentd ssh key",
  "GET /openai/v1/models": `${NOT_THE_OPERATORS}: chat clients speaking OpenAI's API (agentd chat talks to the agent)`,
  "POST /openai/v1/chat/completions": `${NOT_THE_OPERATORS}: chat clients speaking OpenAI's API`,
  "POST /openai/v1/responses": `${NOT_THE_OPERATORS}: chat clients speaking OpenAI's API`,
  "GET /v1/sessions/:id/events": "agentd sessions follow",
  "GET /v1/webhooks": "agentd webhooks [list]",
  "POST /v1/webhooks": "agentd webhooks add",
  "DELETE /v1/webhooks/:id": "agentd webhooks remove",
  "GET /v1/webhooks/:id/deliveries": "agentd webhooks deliveries",
  "GET /composio/callback": `${NOT_THE_OPERATORS}: Composio sends the person's browser there`,
  "GET /v1/composio/accounts": "agentd composio [list]",
  "POST /v1/composio/accounts/:toolkit/connect": "agentd composio connect",
  "DELETE /v1/composio/accounts/:id": "agentd composio remove",
  "GET /v1/search/providers": "agentd web [show]",
  "GET /v1/browser/profiles": "agentd web [show]",
  "DELETE /v1/browser/profiles/:name": "agentd web forget",
};

test("every operation of the API is done by a CLI command its --help shows, or says why an operator has none", () => {
  const described = new Set(DESCRIBED);
  assert.deepEqual(
    DESCRIBED.filter((op) => !(op in CLI)),
    [],
    "an operation with no command: add one (and its line here), or say why an operator needs none",
  );
  assert.deepEqual(
    Object.keys(CLI).filter((op) => !described.has(op)),
    [],
    "a line here for an operation the API no longer has",
  );
  const missing: string[] = [];
  for (const [op, how] of Object.entries(CLI)) {
    if (how.startsWith(NOT_THE_OPERATORS)) continue;
    for (const usage of how.split("|agentd ").map((u) => u.replace(/^agentd /, ""))) {
      const command = usage.split(" ")[0] as string;
      // Its usage lines (or the overview's list, for doctor, chat and workers) show the subcommand.
      const lines = (HELP[command] ?? "")
        .split("\n")
        .filter((l) => /^(Usage: | {7})agentd /.test(l))
        .flatMap((l) => l.split(" | ").map((part, i) => (i === 0 ? part : `agentd ${command} ${part}`)));
      if (!lines.some((l) => l.includes(`agentd ${usage}`))) missing.push(`${op}: agentd ${usage}`);
    }
  }
  assert.deepEqual(missing, [], "commands not in the usage of their --help");
});
