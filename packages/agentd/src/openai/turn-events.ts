import type { Agentd } from "../app.ts";
import type { Redactor } from "../vault/redact.ts";

/** A tool call waiting for the person's decision, as the stream reports it. */
export interface WaitingApproval {
  id: string;
  code: string;
  tool: string;
  subject: string;
  /** What "always" would allow from then on (the stream says; a stored approval does not). */
  always?: string;
}

/**
 * A turn as a chat client sees it: the reply's text as it is written, notices for the person (a
 * link to connect an app or to take over the browser), and how it ends: answered, waiting for a
 * decision (the response ends there; the turn waits durably), or failed.
 */
export type TurnEvent =
  | { kind: "text"; text: string }
  | { kind: "approval"; approval: WaitingApproval; text: string }
  | { kind: "done"; messageId: string | null }
  | { kind: "failed"; code: string; message: string };

interface Chunk {
  t?: unknown;
  d?: unknown;
  [k: string]: unknown;
}

/** What the person is told about a tool call that waits for them, and how to decide it. */
export function approvalNotice(a: WaitingApproval): string {
  return (
    `agentd asks before running ${a.tool}: ${a.subject}\n` +
    `Reply "YES ${a.code}" to allow it once or "NO ${a.code}" to deny it ` +
    `(or POST /v1/approvals/${a.id} with {"decision": "once" | "always" | "deny"}${a.always ? `; "always" allows ${a.always} from now on` : ""}).`
  );
}

/**
 * The events of turn `runId` from its stream, redacted (a secret split across tokens is held back
 * until whole). `afterApproval`: resume a turn that waited for that approval, from just after it.
 * Ends after done, after an approval the turn waits for, or when the run ends without a reply.
 */
export async function* turnEvents(
  app: Agentd,
  o: { runId: string; redact: Redactor; signal: AbortSignal; afterApproval?: string },
): AsyncGenerator<TurnEvent> {
  const stream = o.redact.stream();
  // The text of the model step being written: the reply's text is the last step's, plus any note the turn adds.
  let stepText = "";
  let shown = "";
  let skipping = o.afterApproval !== undefined;
  const flush = (): TurnEvent | null => {
    const r = stream.flush();
    return r.text ? said(r.text) : null;
  };
  const said = (text: string): TurnEvent => {
    stepText += text;
    shown += text;
    return { kind: "text", text };
  };
  for await (const chunk of app.kernel.subscribe<Chunk>(o.runId, { from: 1, signal: o.signal })) {
    const d = chunk.data ?? {};
    if (skipping) {
      skipping = !(d.t === "approval" && d.id === o.afterApproval);
      continue;
    }
    if (d.t === "text" && typeof d.d === "string") {
      const r = stream.push(d.d);
      if (r.text) yield said(r.text);
      continue;
    }
    const pending = flush();
    if (pending) yield pending;
    if (d.t === "start") stepText = "";
    else if (d.t === "approval") {
      const approval = o.redact.deep({
        id: String(d.id),
        code: String(d.code),
        tool: String(d.tool),
        subject: String(d.subject),
        always: String(d.always),
      });
      yield { kind: "approval", approval, text: `${shown ? "\n\n" : ""}${approvalNotice(approval)}` };
      return;
    } else if (d.t === "connect" && typeof d.url === "string")
      yield said(`${shown ? "\n\n" : ""}To go on, connect ${String(d.app)}: ${d.url}\n\n`);
    else if (d.t === "handoff" && typeof d.link === "string")
      yield said(`${shown ? "\n\n" : ""}To go on, take over the browser here: ${d.link}\n\n`);
    else if (d.t === "done") {
      const rest = missing(o.redact.text(typeof d.text === "string" ? d.text : ""), stepText, shown);
      if (rest) yield said(rest);
      yield { kind: "done", messageId: typeof d.messageId === "string" ? d.messageId : null };
      return;
    }
  }
  const pending = flush();
  if (pending) yield pending;
  if (o.signal.aborted) return;
  const run = await app.kernel.getRun(o.runId);
  if (run?.status === "failed" || run?.status === "cancelled")
    yield {
      kind: "failed",
      code: run.status === "failed" ? "run_failed" : "run_cancelled",
      message:
        run.status === "failed"
          ? `the agent could not answer (${o.redact.text(run.error?.message ?? "its run failed")}); the message is kept, and a retry of run ${o.runId} or the next message answers it`
          : `run ${o.runId} was cancelled`,
    };
  // A turn that ended without a reply had nothing left to answer (a later one answered its message).
  else yield { kind: "done", messageId: null };
}

/**
 * What the reply says that was not streamed: the reply is the last model step's text, sometimes
 * with a note the turn added ("I stopped: …"), or a text no model wrote (the daily budget is used up).
 */
function missing(reply: string, stepText: string, shown: string): string {
  if (!reply || shown.endsWith(reply)) return "";
  if (reply.startsWith(stepText)) return reply.slice(stepText.length);
  return `${shown ? "\n\n" : ""}${reply}`;
}

/** A turn's answer whole (for a request that does not stream): its text and how it ended. */
export interface Collected {
  text: string;
  approval: WaitingApproval | null;
  failed: { code: string; message: string } | null;
}

export async function collect(events: AsyncIterable<TurnEvent>): Promise<Collected> {
  const out: Collected = { text: "", approval: null, failed: null };
  for await (const e of events) {
    if (e.kind === "text") out.text += e.text;
    else if (e.kind === "approval") {
      out.text += e.text;
      out.approval = e.approval;
    } else if (e.kind === "failed") out.failed = { code: e.code, message: e.message };
  }
  return out;
}
