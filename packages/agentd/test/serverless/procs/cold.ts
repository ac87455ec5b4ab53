// A cold start: this process imports agentd/serverless, answers one request (argv[2], a path; a
// Telegram webhook when it is /channels/telegram) and prints what it loaded and how long it took.
import { registerHooks } from "node:module";

const t0 = performance.now();
const loaded = new Set<string>();
registerHooks({
  resolve(specifier, context, next) {
    const r = next(specifier, context);
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(r.url);
    if (m) loaded.add(m[1] as string);
    return r;
  },
});
const { createAgentdHandler } = await import("../../../src/serverless/index.ts");
const imported = performance.now() - t0;
const handler = createAgentdHandler({ env: process.env, logger: () => {}, channelLog: () => {} });
const path = process.argv[2] ?? "/health";
const hook = path === "/channels/telegram";
const res = await handler(
  new Request(`http://fn.test${path}`, {
    method: hook ? "POST" : "GET",
    headers: hook
      ? {
          "content-type": "application/json",
          "x-telegram-bot-api-secret-token": process.env.TELEGRAM_WEBHOOK_SECRET ?? "",
        }
      : {},
    ...(hook ? { body: process.argv[3] ?? "{}" } : {}),
  }),
);
const answered = performance.now() - t0;
await res.text();
process.stdout.write(
  `${JSON.stringify({ status: res.status, importMs: Math.round(imported), firstAnswerMs: Math.round(answered), packages: [...loaded].sort() })}\n`,
);
await handler.close();
