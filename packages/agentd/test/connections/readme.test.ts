/**
 * The README's part on connected apps (MCP servers, their OAuth, OAuth apps, Composio) says what the
 * code takes: every JSON example parses with the schema the API or the configuration checks it with,
 * every route it names is served, every command and flag is in that command's --help, every setting
 * is one agentd reads, and the tools and limits it names are the ones offered.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { policies } from "../../src/agent/policy.ts";
import { DESCRIBED } from "../../src/api/operations.ts";
import { PutPolicy } from "../../src/api/routes/policies.ts";
import { helpOf } from "../../src/cli/help.ts";
import { COMPOSIO_TOOLS } from "../../src/composio/source.ts";
import { FIND_LIMITS } from "../../src/composio/tools.ts";
import { catalogue } from "../../src/config/variables.ts";
import { OAuthAppSchema, parseOperatorApps } from "../../src/connections/apps.ts";
import { McpServerDef, PreRegisteredClient } from "../../src/mcp/definition.ts";
import { Tenants } from "../../src/tenancy/tenants.ts";
import { httpRequestTool } from "../../src/tools/http-request/index.ts";
import { sqlite } from "../support/backends.ts";

const readme = readFileSync(new URL("../../../../README.md", import.meta.url), "utf8");
const start = readme.indexOf("**MCP servers.**");
const end = readme.indexOf("**Your own tools.**");
/** The part, its line breaks as spaces (examples wrap). */
const part = readme.slice(start, end).replace(/\s*\n\s*/g, " ");

/** The JSON that follows `marker` in the part (an object or an array, to its matching bracket). */
function jsonAfter(marker: string): unknown {
  const at = part.indexOf(marker);
  assert.ok(at >= 0, `the README shows ${marker}`);
  const from = part.slice(at + marker.length).search(/[[{]/) + at + marker.length;
  let depth = 0;
  let inString = false;
  for (let i = from; i < part.length; i++) {
    const ch = part[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === "{" || ch === "[") depth++;
    else if (ch === "}" || ch === "]") {
      depth--;
      if (depth === 0) return JSON.parse(part.slice(from, i + 1).replaceAll("…", "x"));
    }
  }
  throw new Error(`no JSON after ${marker}`);
}

test("the README's connected-apps part: its JSON examples are what the API and the configuration take", async (t) => {
  assert.ok(start > 0 && end > start);
  const http = McpServerDef.parse(jsonAfter("`POST /v1/mcp/servers` with"));
  assert.equal(http.transport, "http");
  assert.deepEqual(http.transport === "http" && http.headers.Authorization, {
    secret: "GITHUB_TOKEN",
    prefix: "Bearer ",
  });
  const stdio = McpServerDef.parse(jsonAfter("server-filesystem /srv`, or"));
  assert.equal(stdio.transport, "stdio");
  PreRegisteredClient.parse(jsonAfter("the definition's `oauth`:"));
  const apps = parseOperatorApps(JSON.stringify(jsonAfter("`authorizationUrl` and `tokenUrl`:")));
  assert.deepEqual(apps[0]?.apiHosts, ["api.github.com"]);
  OAuthAppSchema.parse({ ...(jsonAfter("`PUT /v1/oauth-apps/<name>` with") as object), name: "gitlab" });
  assert.equal(httpRequestTool.input.safeParse(jsonAfter("**Connections in `http_request`.**")).success, true);

  // The policy rules it shows are taken, a server's whole prefix included.
  const { db } = await sqlite.db(t);
  const tenants = new Tenants(db, Date.now);
  const scope = tenants.scope((await tenants.create("readme")).id);
  for (const marker of ["`PUT /v1/policies", "or the whole server with"]) {
    const rule = PutPolicy.parse(jsonAfter(marker));
    await policies.set(scope, rule, Date.now());
  }
  assert.deepEqual(
    (await policies.list(scope)).map((r) => r.tool),
    ["mcp__github__*", "mcp__github__get_me"],
  );

  // Composio: the four tools it names, execute's example fits its schema, find_tools' page size.
  assert.deepEqual(
    COMPOSIO_TOOLS.map((x) => x.name),
    ["find_tools", "execute", "accounts", "disconnect"],
  );
  const execute = COMPOSIO_TOOLS.find((x) => x.name === "execute")?.inputSchema as {
    required: string[];
    properties: Record<string, unknown>;
  };
  const example = jsonAfter("`composio__composio__execute` (") as Record<string, unknown>;
  assert.deepEqual(Object.keys(example).sort(), [...execute.required].sort());
  assert.match(part, new RegExp(`tools with their arguments, ${FIND_LIMITS.tools} at a time`));
});

test("the README's connected-apps part names routes the API serves, commands and flags --help lists, settings agentd reads", () => {
  // "POST /v1/connections/<name>/test|connect" is two routes; "<name>" is Hono's ":name".
  const shape = (path: string) => path.replace(/<\w+>|:\w+/g, ":x");
  const served = new Set(DESCRIBED.map((d) => shape(d)));
  const routes = [...part.matchAll(/\b(GET|POST|PUT|PATCH|DELETE) (\/v1\/[\w/<>|-]*[\w>])/g)];
  assert.ok(routes.length >= 12, `routes found: ${routes.length}`);
  for (const [, method, path] of routes) {
    const head = (path as string).slice(0, (path as string).lastIndexOf("/") + 1);
    for (const last of (path as string).slice(head.length).split("|"))
      assert.ok(served.has(shape(`${method} ${head}${last}`)), `${method} ${head}${last} is served`);
  }

  const commands = [...part.matchAll(/`agentd (mcp|connections|composio) ([a-z|]+)([^`]*)`/g)];
  assert.ok(commands.length >= 6, `commands found: ${commands.length}`);
  for (const [, command, subs, rest] of commands) {
    const help = helpOf(command as string);
    for (const sub of (subs as string).split("|"))
      assert.match(help, new RegExp(`agentd ${command} ${sub}\\b|  ${sub}\\b`), `${command} ${sub}`);
    for (const flag of (rest as string).match(/--[a-z-]+/g) ?? []) assert.ok(help.includes(flag), `${command} ${flag}`);
  }

  const settings = new Set(catalogue().map((v) => v.name as string));
  const named = new Set([...part.matchAll(/\bAGENTD_[A-Z_]+\b/g)].map((m) => m[0]));
  assert.ok(named.size >= 6);
  for (const name of named) assert.ok(settings.has(name), `${name} is a setting agentd reads`);
});
