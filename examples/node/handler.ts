// agentd as a function on any platform other than Next.js: one handler for every path (the API, the
// channels' webhooks, the dashboard, /tick), with the settings of README's "Deploy without a server".
import { getRequestListener } from "@hono/node-server";
import { createAgentdHandler } from "agentd/serverless";

const handler = createAgentdHandler(); // the limit: AGENTD_FUNCTION_TIMEOUT (seconds, default 10)

/** Platforms that call fetch(request, env, ctx): ctx.waitUntil runs a webhook's turn after the answer. */
export default {
  fetch: (req: Request, _env?: unknown, ctx?: { waitUntil(work: Promise<unknown>): void }) => handler(req, ctx),
};

/** Platforms that call a Node (req, res) listener: without waitUntil, a message's turn runs on the next tick. */
export const listener = getRequestListener((req) => handler(req));
