import type { Agentd } from "../app.ts";
import type { Attachment } from "../blobs/types.ts";
import { AgentdError } from "../errors.ts";
import { readAttachments } from "../media/attachments.ts";
import { MediaReadError } from "../media/errors.ts";
import type { Received } from "../sessions/inbox.ts";
import { type FirstPass, quotas, RateLimitedError, type RunPhase } from "../tenancy/quotas.ts";
import { scopeOf, type TenantContext } from "./env.ts";

/** A person's message as an API route hands it in: the session it goes to, its text and files. */
export interface Incoming {
  channel: string;
  conversation: string;
  text: string;
  sourceKey: string | null;
  attachments?: Attachment[];
}

/**
 * A message of the tenant's, admitted by its quotas (a 429 says when to try again), persisted and
 * its turn started: the one way an API route (agentd's own, the OpenAI-compatible one) starts a turn.
 * The limits are the tenant's settings, read by the admission under the tenant's lock. On Postgres a
 * message without files is admitted in the statement that stores it (one round trip); with files,
 * the admission comes first, so that a refused message's files are not read (transcription is paid).
 */
export async function acceptMessage(app: Agentd, c: TenantContext, m: Incoming): Promise<Received> {
  const tenantId = c.get("tenantId");
  const scope = scopeOf(app, c);
  const now = app.kernel.clock.now();
  let first: FirstPass | undefined;
  if (scope.dialect === "postgres" && !m.attachments?.length) {
    const pass = quotas.firstPass(now, "stored");
    const message = {
      tenantId,
      channel: m.channel,
      conversation: m.conversation,
      text: m.text,
      sourceKey: m.sourceKey,
    };
    let r: Awaited<ReturnType<Agentd["inbox"]["receiveAdmitted"]>>;
    try {
      r = await app.inbox.receiveAdmitted(message, pass);
    } catch (e) {
      // The message was stored and admitted, and its turn's start failed: the admission goes (a
      // statement that failed stored neither, and this deletes nothing).
      await quotas.drop(scope, pass.id);
      throw e;
    }
    if (!("refused" in r)) return r;
    first = { id: pass.id, verdict: r.refused };
  }
  const admission = await quotas
    .admit(scope, "stored", now, (runId) => phaseOf(app, runId), first)
    .catch((e: unknown) => {
      if (RateLimitedError.is(e)) c.header("retry-after", String(e.retryAfterS));
      throw e;
    });
  try {
    const attachments = m.attachments?.length ? await readFiles(app, c, m.attachments) : [];
    return await app.inbox.receive({
      ...(attachments.length ? { attachments } : {}),
      tenantId,
      channel: m.channel,
      conversation: m.conversation,
      text: m.text,
      sourceKey: m.sourceKey,
      admission: admission.id,
    });
  } catch (e) {
    await admission.drop();
    throw e;
  }
}

/**
 * The files' text (voice notes heard, documents read), as the channels read theirs: what the API
 * sends is understood as what a person sends on Telegram. A transcription server that is down is a
 * 502 saying so; the client sends again, and audio already transcribed is not paid for twice.
 */
async function readFiles(app: Agentd, c: TenantContext, files: Attachment[]): Promise<Attachment[]> {
  const media = app.channelHost.media;
  if (!media) return files;
  try {
    return await readAttachments(media, app.blobs, scopeOf(app, c), files, (line) =>
      app.log({ level: "warn", msg: "a file was not read", detail: line }),
    );
  } catch (e) {
    if (MediaReadError.is(e, "unavailable")) throw new AgentdError("transcription_unavailable", e.message);
    throw e;
  }
}

/** Where a run admitted by the quotas is, from the kernel's store. */
async function phaseOf(app: Agentd, runId: string): Promise<RunPhase> {
  const status = (await app.kernel.getRun(runId))?.status;
  return status === "pending" || status === "running" ? "active" : status === "suspended" ? "waiting" : "ended";
}
