// Tenants' own Telegram bots under test: each bot has its own Bot API stand-in; a small proxy in
// front of them routes /bot<token>/… to the right one, as api.telegram.org serves every bot.
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { serveApi } from "../../src/api/index.ts";
import { testAgentd } from "./app.ts";
import type { Backend } from "./backends.ts";
import { freePort } from "./cli.ts";
import { startTelegramServer, type TelegramServer } from "./telegram-server.ts";

export const TOKEN_A = "1111111:AAbotAtokenSECRETvalue-aaaaaaaa";
export const TOKEN_B = "2222222:BBbotBtokenSECRETvalue-bbbbbbbb";
export const ALICE = { id: 501, is_bot: false, first_name: "Alice", username: "alice" };
export const BOB = { id: 502, is_bot: false, first_name: "Bob", username: "bob" };

/**
 * Waits for every run to end: a turn completes just after its reply is sent, and the test's store is
 * dropped when the test ends (before the app closes), which a late commit would trip over.
 */
export async function settle(app: {
  kernel: { listRuns(o: { limit: number }): Promise<{ id: string }[]>; result(id: string): Promise<unknown> };
}) {
  for (const r of await app.kernel.listRuns({ limit: 100 })) await app.kernel.result(r.id).catch(() => {});
}

/** One Bot API root for several stand-ins: routes by the token in the path. */
async function botApiProxy(t: { after(fn: () => unknown): void }, servers: TelegramServer[]): Promise<string> {
  const server = createServer(async (req: IncomingMessage, res) => {
    const token = /^\/bot([^/]+)\//.exec(req.url ?? "")?.[1];
    const target = servers.find((s) => s.token === token);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (!target) {
      res
        .writeHead(401, { "content-type": "application/json" })
        .end(JSON.stringify({ ok: false, error_code: 401, description: "Unauthorized" }));
      return;
    }
    try {
      const r = await fetch(target.apiRoot + req.url, {
        method: req.method ?? "POST",
        headers: { "content-type": req.headers["content-type"] ?? "application/json" },
        body: Buffer.concat(chunks),
      });
      res.writeHead(r.status, { "content-type": "application/json" }).end(await r.text());
    } catch {
      res.destroy();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(
    () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(r);
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * A test's agentd wired as `agentd start` wires it (the bots' resolver, the webhook router at
 * /channels/telegram, the API), with two Bot API stand-ins (tokens A and B) and a second tenant;
 * `call` speaks to the API as tenant A unless another key is given, `hook` posts to a bot's webhook.
 */
export async function telegramBotsRig(
  t: { after(fn: () => unknown): void },
  b: Backend,
  opts: { publicUrl?: boolean; deploymentToken?: string } = { publicUrl: true },
) {
  const tgA = await startTelegramServer({ token: TOKEN_A });
  const tgB = await startTelegramServer({ token: TOKEN_B });
  t.after(() => tgA.close());
  t.after(() => tgB.close());
  const apiRoot = await botApiProxy(t, [tgA, tgB]);
  const port = await freePort();
  const logs: string[] = [];
  // As `agentd start` wires it, from the configuration: the resolver, the webhook router at /channels/telegram.
  const env = await testAgentd(t, b, {
    config: {
      channels: {
        ...(opts.publicUrl ? { publicUrl: `http://127.0.0.1:${port}` } : {}),
        telegram: { apiRoot, ...(opts.deploymentToken ? { botToken: opts.deploymentToken } : {}) },
      },
    },
    channelLog: (l) => logs.push(l),
  });
  const { app } = env;
  const other = await app.tenants.create("other", {});
  const server = await serveApi(app, { host: "127.0.0.1", port, mounts: app.configuredChannels.mounts });
  t.after(() => server.close());
  const keyA = (await app.tenants.createApiKey(env.tenantId)).key;
  const keyB = (await app.tenants.createApiKey(other.id)).key;
  const call = async (
    method: string,
    path: string,
    o: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
  ) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${o.key ?? keyA}`,
        ...(o.body === undefined ? {} : { "content-type": "application/json" }),
        ...o.headers,
      },
      ...(o.body === undefined ? {} : { body: JSON.stringify(o.body) }),
    });
    const text = await res.text();
    return { status: res.status, text, body: text ? JSON.parse(text) : null };
  };
  const hook = (botId: string, update: object, secret: string | null) =>
    fetch(`${server.url}/channels/telegram/${botId}`, {
      method: "POST",
      body: JSON.stringify(update),
      headers: {
        "content-type": "application/json",
        ...(secret === null ? {} : { "x-telegram-bot-api-secret-token": secret }),
      },
    });
  return { ...env, tgA, tgB, apiRoot, other, server, call, hook, keyA, keyB, logs };
}
