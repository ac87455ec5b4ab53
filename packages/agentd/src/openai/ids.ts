import { randomBytes } from "node:crypto";

/**
 * The id of an answer: its turn's run id after `prefix`, so a later request can name it
 * (`previous_response_id`); an answer that continues a turn after a decision, or says only what
 * the turn waits for, adds a part of its own (no two answers share an id).
 */
export function answerId(prefix: string, s: { runId: string; afterApproval?: string; notice?: string }): string {
  const extra = s.afterApproval ? `_${s.afterApproval}` : s.notice ? `_n${randomBytes(6).toString("hex")}` : "";
  return `${prefix}${s.runId}${extra}`;
}

/** The run id of an answer's id (see answerId), or null when it is not one of ours. */
export function runOfAnswer(prefix: string, id: string): string | null {
  if (!id.startsWith(prefix)) return null;
  const rest = id.slice(prefix.length);
  return /^[0-9a-f-]{36}/.exec(rest)?.[0] ?? null;
}
