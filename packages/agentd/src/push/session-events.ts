import { Hono } from "hono";
import { z } from "zod";
import type { Agentd } from "../app.ts";
import { queryOf } from "../api/body.ts";
import { scopeOf, type TenantEnv } from "../api/env.ts";
import { eventStream } from "../api/event-stream.ts";
import { frame } from "../api/sse.ts";
import { redactorFor } from "../api/views.ts";
import { badRequest } from "../errors.ts";
import { type Message, sessions } from "../sessions/store.ts";

/** How often a session's stream looks for new messages (other processes write them too: a worker, a channel). */
export const POLL_MS = 500;
const PAGE = 100;
/** How long after it is stored a message may still be followed by one with a lower seq (see below). */
const SETTLE_MS = 10_000;

export const SessionEventsQuery = z.object({
  /** Send the messages after this seq (Last-Event-ID wins when both are given); default: only new ones. */
  after: z.coerce.number().int().min(0).optional(),
});

/**
 * GET /sessions/:id/events: a session's messages as Server-Sent Events while they are stored (the
 * person's, the agent's replies, background results of reminders and schedules), `event: message`
 * with `id: <seq>`, so a client reconnecting with Last-Event-ID misses none and gets none twice.
 */
export function sessionEventRoutes(app: Agentd) {
  return new Hono<TenantEnv>().get("/sessions/:id/events", queryOf(SessionEventsQuery), async (c) => {
    const scope = scopeOf(app, c);
    const session = await sessions.require(scope, c.req.param("id"));
    const last = c.req.header("last-event-id");
    if (last !== undefined && !/^\d{1,15}$/.test(last.trim()))
      throw badRequest("Last-Event-ID must be the seq of a message this stream sent (a whole number)");
    const given = last !== undefined ? Number(last.trim()) : c.req.valid("query").after;
    let after = given ?? (await latestSeq(app, c, session.id));
    const redact = await redactorFor(app, scope);
    return eventStream(c.req.raw.signal, async (send, stop) => {
      send(frame("ready", { sessionId: session.id, after }));
      // seq comes from one counter for every writer: on Postgres a message can commit after one with
      // a higher seq was read. So the rows of the last SETTLE_MS are read again (sent ones skipped by
      // seq) until they are older than any transaction still in flight.
      const sent = new Set<number>();
      while (!stop.aborted) {
        const page = await sessions.history(scope, session.id, after, PAGE);
        const settled = app.kernel.clock.now() - SETTLE_MS;
        let fresh = 0;
        let moving = true;
        for (const m of page) {
          if (!sent.has(m.seq)) {
            send(`id: ${m.seq}\n${frame("message", redact.deep(view(m)))}`);
            sent.add(m.seq);
            fresh++;
          }
          if (moving && m.createdAt <= settled) after = m.seq;
          else moving = false;
        }
        for (const seq of sent) if (seq <= after) sent.delete(seq);
        if (fresh === 0 || page.length < PAGE) await pause(POLL_MS, stop);
      }
    });
  });
}

const view = (m: Message) => ({
  seq: m.seq,
  id: m.id,
  role: m.role,
  content: m.content,
  runId: m.runId,
  createdAt: m.createdAt,
  ...(m.attachments ? { attachments: m.attachments } : {}),
});

async function latestSeq(app: Agentd, c: Parameters<typeof scopeOf>[1], sessionId: string): Promise<number> {
  const r = await scopeOf(app, c).get<{ seq: number | null }>(
    "SELECT MAX(seq) AS seq FROM os_messages WHERE tenant_id = $tenant AND session_id = ?",
    [sessionId],
  );
  return Number(r?.seq ?? 0);
}

/** Waits `ms`, or less when `stop` aborts. */
function pause(ms: number, stop: AbortSignal): Promise<void> {
  return new Promise((done) => {
    const t = setTimeout(finish, ms);
    function finish() {
      clearTimeout(t);
      stop.removeEventListener("abort", finish);
      done();
    }
    stop.addEventListener("abort", finish, { once: true });
  });
}
