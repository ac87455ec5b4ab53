/** What starts a turn and what it returns (their own file: the turn's helpers and the inbox read them without importing the turn). */
export interface TurnInput {
  tenantId: string;
  sessionId: string;
  /** The seq of the message this turn answers. */
  seq: number;
  /** Set for turns started by a reminder, a schedule or the heartbeat. */
  background?: string;
}

export interface TurnOutput {
  /** The reply's message (null when the turn had nothing left to answer). */
  messageId: string | null;
  text: string;
  modelCalls: number;
  tokens: number;
  /** superseded: a later message's turn answered this one's message (it was retried after failing). */
  stopped: "answer" | "iterations" | "tokens" | "budget" | "superseded";
}
