/**
 * The stand-in model for bench/agent.ts, in its own process as a real model server would be (it does
 * not share agentd's event loop or core): the test suite's OpenAI-compatible server
 * (packages/agentd/test/support/model-server.ts), plus the model's own time for every request, from
 * the request arriving to its last byte handed to the socket (Node's `http.server.*` diagnostics
 * channels). The parent sets the reply and takes the log over IPC.
 */
import { fork } from "node:child_process";
import { subscribe } from "node:diagnostics_channel";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type ScriptedReply, startModelServer } from "../packages/agentd/test/support/model-server.ts";

/** One request the stand-in answered. */
export interface ModelCall {
  path: string;
  /** Request received (headers) to the last byte sent. */
  ms: number;
  /** Size of the request body (its Content-Length). */
  bytes: number;
}

/** What the stand-in saw since the last take. */
export interface Taken {
  /** Requests answered, in the order they ended. */
  calls: ModelCall[];
  /** Every request received (answered or not), in arrival order: its path and body as sent. */
  requests: { path: string; raw: string }[];
}

type ToChild = { op: "reply"; reply: ScriptedReply } | { op: "take"; raw: boolean };
type FromChild = { op: "ready"; url: string } | { op: "ok" } | ({ op: "taken" } & Taken);

export interface ModelProcess {
  /** The OpenAI-compatible base URL (…/v1). */
  url: string;
  /** Every completion request is answered with this reply from now on. */
  reply(reply: ScriptedReply): Promise<void>;
  /** What happened since the last take; request bodies only when `raw` is asked for. */
  take(opts?: { raw?: boolean }): Promise<Taken>;
  close(): Promise<void>;
}

/** Forks the stand-in and waits for it to listen. */
export async function startModelProcess(): Promise<ModelProcess> {
  const child = fork(new URL(import.meta.url).pathname, ["--child"], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  // The child answers in order, so a FIFO of waiters pairs each answer with its request.
  const waiters: ((m: FromChild) => void)[] = [];
  const ready = Promise.withResolvers<string>();
  child.on("message", (m: FromChild) => (m.op === "ready" ? ready.resolve(m.url) : waiters.shift()?.(m)));
  child.once("exit", (code) => ready.reject(new Error(`the stand-in model exited (${code}) before listening`)));
  const ask = (m: ToChild) =>
    new Promise<FromChild>((resolve) => {
      waiters.push(resolve);
      child.send(m);
    });
  const url = await ready.promise;
  return {
    url,
    reply: async (reply) => void (await ask({ op: "reply", reply })),
    take: async (opts = {}) => {
      const m = await ask({ op: "take", raw: opts.raw ?? false });
      return m.op === "taken" ? { calls: m.calls, requests: m.requests } : { calls: [], requests: [] };
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

if (import.meta.main && process.argv.includes("--child")) {
  const server = await startModelServer();
  let reply: ScriptedReply = { text: "ok" };
  server.fallback = () => reply;
  const started = new WeakMap<ServerResponse, number>();
  const timed: ModelCall[] = [];
  subscribe(
    "http.server.request.start",
    (m) => void started.set((m as { response: ServerResponse }).response, performance.now()),
  );
  subscribe("http.server.response.finish", (m) => {
    const { request, response } = m as { request: IncomingMessage; response: ServerResponse };
    const at = started.get(response);
    const path = new URL(request.url ?? "/", "http://x").pathname;
    if (at !== undefined && !path.startsWith("/__"))
      timed.push({ path, ms: performance.now() - at, bytes: Number(request.headers["content-length"] ?? 0) });
  });
  process.on("message", (m: ToChild) => {
    if (m.op === "reply") {
      reply = m.reply;
      return void process.send?.({ op: "ok" } satisfies FromChild);
    }
    const requests = server.requests.splice(0).map((r) => ({ path: r.path, raw: m.raw ? r.raw : "" }));
    process.send?.({ op: "taken", calls: timed.splice(0), requests } satisfies FromChild);
  });
  process.once("SIGTERM", () => void server.close().then(() => process.exit(0)));
  process.once("disconnect", () => void server.close().then(() => process.exit(0)));
  process.send?.({ op: "ready", url: server.url } satisfies FromChild);
}
