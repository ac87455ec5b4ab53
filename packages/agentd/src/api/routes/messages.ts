import { Hono, type TypedResponse } from "hono";
import { z } from "zod";
import type { Agentd } from "../../app.ts";
import type { Received } from "../../sessions/inbox.ts";
import { sessions } from "../../sessions/store.ts";
import type { Attachment } from "../../blobs/types.ts";
import { badRequest, notFound } from "../../errors.ts";
import { acceptMessage } from "../accept.ts";
import { jsonBody, queryOf, readQuery } from "../body.ts";
import { type TenantContext, type TenantEnv, scopeOf } from "../env.ts";
import { frame, runEvents } from "../sse.ts";
import { redactorFor } from "../views.ts";

export const MAX_TEXT_CHARS = 32_000;

export const PostMessage = z
  .strictObject({
    /** May be left out when files are sent: a voice note alone is a message (media/attachments.ts reads it). */
    text: z.string().max(MAX_TEXT_CHARS).default(""),
    conversation: z.string().min(1).max(200).default("default"),
    channel: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, "a channel is 1 to 32 lower-case letters, digits, '_' or '-'")
      .default("http"),
    id: z.string().min(1).max(200).optional(),
    /** Files sent with it: ids of blobs this tenant uploaded (POST /v1/blobs). */
    attachments: z.array(z.string().min(1).max(100)).max(10).optional(),
  })
  .refine((m) => m.text.trim().length > 0 || Boolean(m.attachments?.length), {
    message: "must not be blank (send text, files, or both)",
    path: ["text"],
  });
export const Stream = z.object({ stream: z.enum(["0", "1", "true", "false"]).optional() });
export const ListSessions = z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) });
export const History = z.object({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

const wantsStream = (c: TenantContext) => {
  const q = readQuery(c, Stream).stream;
  return q === "1" || q === "true" || (c.req.header("accept") ?? "").includes("text/event-stream");
};

/** POST /v1/messages (a person's message starts a turn; JSON or SSE) and the sessions it lands in. */
export function messageRoutes(app: Agentd) {
  return new Hono<TenantEnv>()
    .post("/messages", jsonBody(PostMessage), async (c) => {
      const body = c.req.valid("json");
      const tenantId = c.get("tenantId");
      const scope = scopeOf(app, c);
      // A channel with an adapter pushes replies to the outside world (a Telegram chat, a phone): its
      // messages come through its webhook, never from an API key naming any conversation it likes.
      if (app.channels.has(body.channel))
        throw badRequest(
          `channel "${body.channel}" is served by its own adapter and receives its messages through its webhook; use "http" (the default) or a name of your own`,
        );
      // A stream's redactor reads the tenant's secrets: read while the message is admitted and stored, not after.
      const redacting = wantsStream(c) ? redactorFor(app, scope) : null;
      redacting?.catch(() => {});
      const sourceKey = body.id === undefined ? null : `api:${body.id}`;
      // A retried POST is answered from what the first one stored, without counting against the limit.
      let received: Received | null = sourceKey
        ? await findRetry(app, c, body.channel, body.conversation, sourceKey)
        : null;
      if (!received) {
        // Files first: an unknown one is refused before the message counts against any limit.
        const attachments: Attachment[] = [];
        for (const id of body.attachments ?? []) {
          const blob = await app.blobs.get(tenantId, id);
          if (!blob) throw notFound(`file ${id} (upload it first with POST /v1/blobs)`);
          attachments.push(blob.attachment);
        }
        received = await acceptMessage(app, c, {
          attachments,
          channel: body.channel,
          conversation: body.conversation,
          text: body.text,
          sourceKey,
        });
      }
      const accepted = {
        sessionId: received.session.id,
        messageId: received.message.id,
        runId: received.runId,
        duplicate: received.duplicate,
      };
      if (!redacting) return c.json(accepted, 202);
      // A stream is a body (200), not JSON: typed so, the typed client reads the JSON answer (202) as `accepted`.
      const stream = runEvents(app, {
        runId: received.runId,
        from: 1,
        signal: c.req.raw.signal,
        redact: await redacting,
        before: frame("accepted", accepted),
      });
      return stream as Response & TypedResponse<null, 200, "body">;
    })
    .get("/sessions", queryOf(ListSessions), async (c) => {
      const q = c.req.valid("query");
      return c.json({ sessions: await sessions.list(scopeOf(app, c), q.limit) });
    })
    .get("/sessions/:id", async (c) => c.json(await sessions.require(scopeOf(app, c), c.req.param("id"))))
    .get("/sessions/:id/messages", queryOf(History), async (c) => {
      const q = c.req.valid("query");
      const scope = scopeOf(app, c);
      const s = await sessions.require(scope, c.req.param("id"));
      const messages = await sessions.history(scope, s.id, q.after, q.limit);
      return c.json({ messages, next: messages.length === q.limit ? (messages.at(-1)?.seq ?? null) : null });
    });
}

/** The message a previous POST with the same client id stored, as the inbox would answer a redelivery. */
async function findRetry(
  app: Agentd,
  c: TenantContext,
  channel: string,
  conversation: string,
  sourceKey: string,
): Promise<Received | null> {
  const scope = scopeOf(app, c);
  const session = await sessions.find(scope, channel, conversation);
  const prior = session && (await sessions.bySource(scope, session.id, sourceKey));
  if (!session || !prior?.runId) return null;
  return { session, message: prior, runId: prior.runId, duplicate: true };
}
