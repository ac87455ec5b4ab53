import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import OpenAI from "openai";
import { serveApi } from "../../packages/agentd/src/api/index.ts";
import type { ModelProcess } from "../agent-model.ts";
import { FIRST_TOKEN_DELAY_MS, REPLY, SIZE } from "./config.ts";
import { ADMIN, directModel, dist, emit, firstTokenPairs, type Kind, withApp } from "./harness.ts";
import { sseTurn } from "./ttft.ts";

// ---- 2b. time to first token through the other clients' doors (issue 19) -----------------------------

interface FirstText {
  firstMs: number;
  runId: string;
}

type Door = (conversation: string, text: string) => Promise<FirstText>;

/** The doors measured: agentd's own SSE, the official `openai` client at /openai/v1, the official MCP client at /mcp. */
const DOORS = ["sse", "openai", "mcp"] as const;

/**
 * Per door, paired with a direct streamText call to the stand-in (alternating order): the time to the
 * first text a client sees, minus the direct call's first text-delta. Each turn's run is awaited
 * before the next message, so no message queues behind the previous turn's tail.
 */
export async function clientsFirstToken(kind: Kind, model: ModelProcess) {
  await model.reply({ text: REPLY, firstTokenDelayMs: FIRST_TOKEN_DELAY_MS, tokenDelayMs: 1 });
  const direct = directModel(model);
  await withApp(kind, model, async (app) => {
    const api = await serveApi(app, { host: "127.0.0.1", port: 0 });
    const mcp = new Client({ name: "agentd-bench", version: "1.0.0" });
    try {
      const made = await fetch(`${api.url}/v1/tenants`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "clients", settings: { runsPerMinute: 100_000 } }),
      });
      if (made.status !== 201) throw new Error(`POST /v1/tenants answered ${made.status}: ${await made.text()}`);
      const { apiKey } = (await made.json()) as { apiKey: string };
      const openai = new OpenAI({ apiKey, baseURL: `${api.url}/openai/v1`, maxRetries: 0 });
      await mcp.connect(
        new StreamableHTTPClientTransport(new URL(`${api.url}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${apiKey}` } },
        }),
      );
      const doors: Record<(typeof DOORS)[number], Door> = {
        sse: (conversation, text) => sseTurn(api.url, apiKey, conversation, text),
        async openai(conversation, text) {
          const t0 = performance.now();
          const out: FirstText = { firstMs: Number.NaN, runId: "" };
          const stream = await openai.chat.completions.create({
            model: "agentd",
            messages: [{ role: "user", content: text }],
            user: conversation,
            stream: true,
          });
          for await (const chunk of stream) {
            out.runId ||= (chunk as unknown as { agentd?: { run_id: string } }).agentd?.run_id ?? "";
            if (chunk.choices[0]?.delta.content && Number.isNaN(out.firstMs)) out.firstMs = performance.now() - t0;
          }
          return out;
        },
        async mcp(conversation, text) {
          const t0 = performance.now();
          let firstMs = Number.NaN;
          const r = await mcp.callTool(
            { name: "send_message", arguments: { text, conversation } },
            {
              onprogress: () => {
                if (Number.isNaN(firstMs)) firstMs = performance.now() - t0;
              },
            },
          );
          const said = (r.content as { type: string; text?: string }[]).map((c) => c.text ?? "").join("");
          if (r.isError) throw new Error(`send_message failed: ${said}`);
          return { firstMs, runId: /\(run (\S+), session /.exec(said)?.[1] ?? "" };
        },
      };
      for (const name of DOORS) {
        const door = doors[name];
        const through = async (i: number) => {
          const r = await door(`${name}${Math.floor(i / 10)}`, `message ${i}`);
          if (Number.isNaN(r.firstMs) || !r.runId) throw new Error(`${name}: no text or no run id`);
          await app.kernel.result(r.runId);
          return r.firstMs;
        };
        // The warm-up pairs also load the MCP server's SDK (on its first request).
        const { agentdMs, directMs, diff } = await firstTokenPairs(SIZE.pairs, direct, through);
        emit(
          "client_first_token_extra_ms",
          {
            client: name,
            what: {
              sse: "the first `text` event of POST /v1/messages (Accept: text/event-stream), read with fetch",
              openai:
                "the first content delta of a streamed chat completion at /openai/v1, read with the official `openai` client",
              mcp: "the first progress notification of send_message at /mcp, read with the official MCP client",
            }[name],
            minus: "the first text-delta of a direct streamText call to the stand-in, paired (alternating order)",
            pairs: SIZE.pairs,
            first_token_delay_ms: FIRST_TOKEN_DELAY_MS,
            ...dist(diff),
            agentd_first_token_ms: dist(agentdMs),
            direct_first_token_ms: dist(directMs),
          },
          kind,
        );
      }
      await model.take();
    } finally {
      await mcp.close().catch(() => {});
      await api.close();
    }
  });
}
