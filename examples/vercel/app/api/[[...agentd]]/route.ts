// agentd on Vercel (or any Next.js host): every path of the deployment is served by this one route.
// next.config.ts sends the root's paths here, so the public URL has no /api: /v1/..., the channels'
// webhooks at /channels/..., the dashboard at /, and /tick, which vercel.json's cron calls.
import { after } from "next/server";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";
// Seconds this function may run; the tick's drain returns before it.
export const maxDuration = 60;

type Handler = (req: Request) => Promise<Response>;

// agentd is loaded by Node as it is published (TypeScript that Node 24 runs), not compiled into the
// bundle: the import is left to run time, once per instance (the cold start), on the first request.
const AGENTD = "agentd/serverless";
let handler: Promise<Handler> | undefined;
const load = () =>
  (handler ??= import(/* webpackIgnore: true */ /* turbopackIgnore: true */ AGENTD).then((m) =>
    // `after` keeps the function alive after the answer, so a webhook's turn runs in the same invocation.
    m.createAgentdHandler({ basePath: "/api", waitUntil: after, timeLimitMs: maxDuration * 1000 }),
  ));

const serve = async (req: Request) => (await load())(req);
export { serve as DELETE, serve as GET, serve as PATCH, serve as POST, serve as PUT };
