import { serveApi } from "../../packages/agentd/src/api/index.ts";
import type { ModelProcess } from "../agent-model.ts";
import { FIRST_TOKEN_DELAY_MS, REPLY, SIZE } from "./config.ts";
import { ADMIN, directModel, dist, emit, firstTokenPairs, pct, targets, withApp, type Kind } from "./harness.ts";

// ---- 2. time to first token at an SSE client --------------------------------------------------------

interface SseTurn {
  firstMs: number;
  runId: string;
}

/** POST /v1/messages as an SSE client: the time to the first `text` event, read to the end. */
export async function sseTurn(url: string, key: string, conversation: string, text: string): Promise<SseTurn> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/messages`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, accept: "text/event-stream", "content-type": "application/json" },
    body: JSON.stringify({ text, conversation }),
  });
  if (res.status !== 200 || !res.body) throw new Error(`POST /v1/messages answered ${res.status}: ${await res.text()}`);
  const out: SseTurn = { firstMs: Number.NaN, runId: "" };
  const dec = new TextDecoder();
  let buf = "";
  for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += dec.decode(part, { stream: true });
    for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      if (event === "text" && Number.isNaN(out.firstMs)) out.firstMs = performance.now() - t0;
      else if (event === "accepted")
        out.runId = (JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "{}") as { runId: string }).runId;
      else if (event === "error" || event === "end") throw new Error(`the turn's stream ended with ${block}`);
    }
  }
  if (Number.isNaN(out.firstMs)) throw new Error("the SSE stream carried no text event");
  return out;
}

export async function firstToken(kind: Kind, model: ModelProcess) {
  await model.reply({ text: REPLY, firstTokenDelayMs: FIRST_TOKEN_DELAY_MS, tokenDelayMs: 1 });
  const direct = directModel(model);
  await withApp(kind, model, async (app) => {
    const api = await serveApi(app, { host: "127.0.0.1", port: 0 });
    try {
      // The tenant and its key come from the API, as an operator would make them.
      const made = await fetch(`${api.url}/v1/tenants`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "ttft", settings: { runsPerMinute: 100_000 } }),
      });
      if (made.status !== 201) throw new Error(`POST /v1/tenants answered ${made.status}: ${await made.text()}`);
      const { apiKey } = (await made.json()) as { apiKey: string };
      // What the messages asked of the stores (on Postgres, each statement a round trip): the API's and the turn's.
      let messages = 0;
      const os0 = { ...app.db.stats };
      const k0 = { ...app.store.stats };
      const viaAgentd = async (i: number) => {
        messages++;
        const r = await sseTurn(api.url, apiKey, `c${Math.floor(i / 10)}`, `message ${i}`);
        // The turn's tail (delivery, maybe a compaction) ends before the next message of the session starts.
        await app.kernel.result(r.runId);
        return r.firstMs;
      };
      const { agentdMs, directMs, diff } = await firstTokenPairs(SIZE.pairs, direct, viaAgentd);
      await model.take();
      const perMessage = (n: number) => Math.round((n / messages) * 10) / 10;
      const stores = {
        os_statements: perMessage(app.db.stats.statements - os0.statements),
        os_commits: perMessage(app.db.stats.commits - os0.commits),
        kernel_commits: perMessage(app.store.stats.commits - k0.commits),
        kernel_reads: perMessage(app.store.stats.reads - k0.reads),
      };
      const pass = { p50: pct(diff, 0.5) <= 8, p99: pct(diff, 0.99) <= 50 };
      targets[`first_token_extra_ms_${kind}`] = pass.p50 && pass.p99;
      emit(
        "first_token_extra_ms",
        {
          what: "time to the first `text` event at an SSE client of POST /v1/messages minus the time to the first text-delta of a direct streamText call to the stand-in, paired (alternating order)",
          pairs: SIZE.pairs,
          first_token_delay_ms: FIRST_TOKEN_DELAY_MS,
          ...dist(diff),
          agentd_first_token_ms: dist(agentdMs),
          direct_first_token_ms: dist(directMs),
          per_message: stores,
          target: "p50 ≤ 8 ms (issue 22), p99 ≤ 50 ms",
          pass,
        },
        kind,
      );
    } finally {
      await api.close();
    }
  });
}
