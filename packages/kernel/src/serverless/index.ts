/**
 * @agentd/kernel/serverless: a fetch-style handler `(Request) => Promise<Response>` over a kernel, for
 * Next.js / Vercel route handlers and any Web-standard runtime. Vercel Cron (or any scheduler) calls
 * POST /tick, which drains due work within the function's time limit.
 *
 *     const handler = createFetchHandler(kernel, { secret: process.env.KERNEL_SECRET! });
 *     export const GET = handler, POST = handler;   // app/api/kernel/[...path]/route.ts, basePath "/api/kernel"
 */
import { timingSafeEqual } from "node:crypto";
import { Hono } from "hono";
import type { Context } from "hono";
import { KernelError } from "../errors.ts";
import type { Kernel } from "../kernel.ts";

export interface FetchHandlerOptions {
  /** Every request must carry `Authorization: Bearer <secret>`. */
  secret: string;
  /** Path prefix the handler is mounted under (default ""). */
  basePath?: string;
  /** Budget of one tick when the request does not say (default 8 s, under a 10 s function limit). */
  tickBudgetMs?: number;
  /** Largest request body accepted, in bytes (default 1 MiB). */
  maxBodyBytes?: number;
}

/** HTTP status for each kernel error code; anything else is ours (500). */
const STATUS: Record<string, 400 | 404 | 409 | 413 | 422> = {
  invalid_argument: 400,
  invalid_duration: 400,
  not_serializable: 400,
  stream_offset: 400,
  invalid_schedule: 400,
  run_not_found: 404,
  unknown_workflow: 404,
  schedule_not_found: 404,
  run_finished: 409,
  run_not_failed: 409,
  key_conflict: 409,
  store_refused: 422,
  value_too_large: 413,
};

class HttpError extends Error {
  readonly status: 400 | 401 | 413;
  constructor(status: 400 | 401 | 413, message: string) {
    super(message);
    this.status = status;
  }
}

export function createFetchHandler(kernel: Kernel, opts: FetchHandlerOptions): (req: Request) => Promise<Response> {
  if (typeof opts.secret !== "string" || opts.secret.length < 16)
    throw new Error("createFetchHandler needs a secret of at least 16 characters.");
  const secret = Buffer.from(opts.secret);
  const maxBody = opts.maxBodyBytes ?? 1024 * 1024;
  const app = new Hono().basePath(opts.basePath ?? "/");

  app.use("*", async (c, next) => {
    const given = Buffer.from((c.req.header("authorization") ?? "").replace(/^Bearer\s+/i, ""));
    if (given.length !== secret.length || !timingSafeEqual(given, secret))
      return c.json({ error: "unauthorized", message: "send Authorization: Bearer <the kernel's secret>" }, 401);
    await next();
  });

  app.post("/tick", async (c) => {
    const body = (await readJson(c, maxBody, true)) as { budgetMs?: unknown } | undefined;
    return c.json(
      await kernel.drain({ budgetMs: (body?.budgetMs as number | undefined) ?? opts.tickBudgetMs ?? 8_000 }),
    );
  });

  app.post("/runs", async (c) => {
    const body = (await readJson(c, maxBody)) as { workflow?: unknown; input?: unknown; key?: unknown };
    if (typeof body?.workflow !== "string")
      throw new HttpError(400, 'the body needs "workflow": the name of a registered workflow');
    const run = await kernel.start(
      body.workflow,
      body.input,
      body.key === undefined ? {} : { key: body.key as string },
    );
    return c.json({ id: run.id, created: run.created }, run.created ? 201 : 200);
  });

  app.get("/runs/:id", async (c) => {
    const run = await kernel.getRun(c.req.param("id"));
    return run ? c.json(run) : c.json({ error: "run_not_found", message: `no run with id ${c.req.param("id")}` }, 404);
  });

  app.post("/runs/:id/events/:name", async (c) => {
    const body = (await readJson(c, maxBody, true)) as { payload?: unknown; eventId?: unknown } | undefined;
    const res = await kernel.sendEvent(
      c.req.param("id"),
      c.req.param("name"),
      body?.payload,
      body?.eventId === undefined ? {} : { eventId: body.eventId as string },
    );
    return c.json(res, 202);
  });

  app.get("/runs/:id/stream", async (c) => {
    const raw = c.req.query("from") ?? c.req.header("last-event-id");
    const from =
      raw === undefined
        ? 1
        : c.req.header("last-event-id") && c.req.query("from") === undefined
          ? Number(raw) + 1
          : Number(raw);
    const it = kernel.subscribe(c.req.param("id"), { from, signal: c.req.raw.signal });
    // Read the first chunk before answering, so a bad offset or run is an HTTP error, not a broken stream.
    const first = await it.next();
    const enc = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async start(ctrl) {
        try {
          for (let r = first; !r.done; r = await it.next())
            ctrl.enqueue(enc.encode(`id: ${r.value.offset}\ndata: ${JSON.stringify(r.value.data)}\n\n`));
          ctrl.enqueue(enc.encode("event: end\ndata: {}\n\n"));
        } catch (e) {
          ctrl.enqueue(enc.encode(`event: error\ndata: ${JSON.stringify({ message: (e as Error).message })}\n\n`));
        }
        ctrl.close();
      },
      cancel() {
        void it.return(undefined);
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
  });

  app.notFound((c) =>
    c.json({ error: "not_found", message: `no route ${c.req.method} ${new URL(c.req.url).pathname}` }, 404),
  );
  app.onError((e, c) => {
    if (e instanceof HttpError)
      return c.json({ error: e.status === 413 ? "too_large" : "bad_request", message: e.message }, e.status);
    if (KernelError.is(e)) return c.json({ error: e.code, message: e.message }, STATUS[e.code] ?? 500);
    return c.json({ error: "internal", message: "the kernel failed on this request; see the server log" }, 500);
  });

  return (req) => Promise.resolve(app.fetch(req));
}

/** Reads a JSON body within the size limit: 413 when larger, 400 with the parser's reason when malformed. */
async function readJson(c: Context, limit: number, optional = false): Promise<unknown> {
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > limit) throw new HttpError(413, `the body is ${declared} bytes; at most ${limit} are accepted`);
  const text = await c.req.text();
  if (Buffer.byteLength(text) > limit) throw new HttpError(413, `the body is over ${limit} bytes`);
  if (text.trim() === "") {
    if (optional) return undefined;
    throw new HttpError(400, "the body must be JSON");
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `the body is not valid JSON: ${(e as Error).message}`);
  }
}
