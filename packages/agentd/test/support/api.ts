/** An agentd served on a real socket for the API tests, with a client for JSON and SSE. */
import assert from "node:assert/strict";
import { serveApi } from "../../src/api/index.ts";
import type { BACKENDS } from "./backends.ts";
import { testAgentd } from "./app.ts";

export const ADMIN = "admin-test-token";

export interface Answer {
  status: number;
  headers: Headers;
  /** Parsed JSON when the answer is JSON, else the text. */
  body: any;
  text: string;
}

export interface SseEvent {
  event: string;
  id: number | undefined;
  data: any;
  /** When the client received it (ms since the request). */
  at: number;
}

type Opts = Parameters<typeof testAgentd>[2];

/** An agentd served on a real socket (127.0.0.1, a free port), its test tenant and an API key for it. */
export async function served(t: { after(fn: () => unknown): void }, b: (typeof BACKENDS)[number], opts: Opts = {}) {
  const ta = await testAgentd(t, b, opts);
  const server = await serveApi(ta.app, { host: "127.0.0.1", port: 0 });
  t.after(() => server.close());
  const { key } = await ta.app.tenants.createApiKey(ta.tenantId);
  const call = async (
    method: string,
    path: string,
    o: { token?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
  ): Promise<Answer> => {
    const token = o.token === undefined ? key : o.token;
    const headers: Record<string, string> = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...o.headers };
    let payload: string | undefined = o.raw;
    if (o.body !== undefined) {
      payload = JSON.stringify(o.body);
      headers["content-type"] = "application/json";
    }
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers,
      ...(payload === undefined ? {} : { body: payload }),
    });
    const text = await res.text();
    let body: unknown = text;
    if ((res.headers.get("content-type") ?? "").includes("application/json")) body = JSON.parse(text);
    return { status: res.status, headers: res.headers, body, text };
  };
  /** Reads an SSE answer to its end, stamping each event with its arrival time. */
  const stream = async (
    method: string,
    path: string,
    o: { body?: unknown; headers?: Record<string, string>; token?: string } = {},
  ) => {
    const started = Date.now();
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${o.token ?? key}`,
        accept: "text/event-stream",
        ...(o.body ? { "content-type": "application/json" } : {}),
        ...o.headers,
      },
      ...(o.body ? { body: JSON.stringify(o.body) } : {}),
    });
    assert.equal(res.status, 200, await (res.status === 200 ? Promise.resolve("") : res.clone().text()));
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    const events: SseEvent[] = [];
    const dec = new TextDecoder();
    let buf = "";
    for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += dec.decode(part, { stream: true });
      for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const ev: SseEvent = { event: "message", id: undefined, data: undefined, at: Date.now() - started };
        for (const line of block.split("\n")) {
          if (line.startsWith("event: ")) ev.event = line.slice(7);
          else if (line.startsWith("id: ")) ev.id = Number(line.slice(4));
          else if (line.startsWith("data: ")) ev.data = JSON.parse(line.slice(6));
        }
        if (ev.data !== undefined) events.push(ev);
      }
    }
    return events;
  };
  return { ...ta, url: server.url, key, call, stream };
}

export { until as waitFor } from "./wait.ts";
