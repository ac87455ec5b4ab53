import type { ModelProcess } from "../agent-model.ts";
import { REPLY } from "./config.ts";
import { emit, targets, turn, withApp, type Kind } from "./harness.ts";

// ---- 6. the request for a first "Hi" --------------------------------------------------------------

/**
 * Every built-in tool's setting on (nothing it names is called for a first "Hi"; port 9 of 127.0.0.1
 * answers nothing): web search, Composio, an operator's MCP server, an OAuth app, speech (speak_reply),
 * beside what is on by default (browser, SSH, run_code when Chromium and bubblewrap are installed).
 */
const EVERY_TOOL: Record<string, string> = {
  SEARXNG_URL: "http://127.0.0.1:9/searx",
  AGENTD_COMPOSIO_API_KEY: "bench-composio-key",
  AGENTD_COMPOSIO_BASE_URL: "http://127.0.0.1:9",
  AGENTD_MCP_SERVERS: JSON.stringify([{ name: "docs", transport: "http", url: "http://127.0.0.1:9/mcp" }]),
  AGENTD_OAUTH_APPS: JSON.stringify([
    {
      name: "github",
      clientId: "bench",
      clientSecret: "bench-secret",
      authorizationUrl: "http://127.0.0.1:9/authorize",
      tokenUrl: "http://127.0.0.1:9/token",
      scopes: ["repo"],
      apiHosts: ["127.0.0.1"],
    },
  ]),
  AGENTD_PUBLIC_URL: "http://127.0.0.1:9",
  AGENTD_SPEECH_MODEL: "bench-tts",
  AGENTD_SPEECH_BASE_URL: "http://127.0.0.1:9/v1",
};

export async function firstRequest(kind: Kind, model: ModelProcess) {
  await measure(kind, model, "defaults", {});
  await measure(kind, model, "every_tool", EVERY_TOOL);
}

async function measure(kind: Kind, model: ModelProcess, tools: string, env: Record<string, string>) {
  await model.reply({ text: REPLY });
  await withApp(
    kind,
    model,
    async (app) => {
      const tenant = await app.tenants.create("hi");
      await model.take();
      await turn(app, tenant.id, "new", "Hi");
      const chat = (await model.take({ raw: true })).requests.filter((r) => r.path === "/v1/chat/completions");
      const raw = chat[0]?.raw;
      if (raw === undefined) throw new Error("the stand-in received no chat completion for the first Hi");
      const body = JSON.parse(raw) as { messages: { role: string }[]; tools?: unknown[] };
      const bytes = Buffer.byteLength(raw);
      const size = (v: unknown) => Buffer.byteLength(JSON.stringify(v));
      const pass = bytes <= 6 * 1024;
      targets[`first_request_bytes_${tools}`] = pass;
      emit(
        "first_request_bytes",
        {
          tools_enabled: tools,
          tool_names: (body.tools as { function?: { name?: string } }[] | undefined)?.map((x) => x.function?.name),
          what: 'the body of the chat completion request agentd sends for a first "Hi" in a new session (as the stand-in received it)',
          bytes,
          tokens_estimate: Math.ceil(bytes / 4),
          system_bytes: size(body.messages.filter((m) => m.role === "system")),
          messages: body.messages.length,
          tools: body.tools?.length ?? 0,
          tools_bytes: size(body.tools ?? []),
          model_requests: chat.length,
          target: "≤ 6 KB (6,144 bytes)",
          pass,
        },
        kind,
      );
    },
    env,
  );
}
