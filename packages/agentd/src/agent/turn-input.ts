/** What starts a turn (its own file: the turn's helpers read it without importing the turn back). */
export interface TurnInput {
  tenantId: string;
  sessionId: string;
  /** The seq of the message this turn answers. */
  seq: number;
  /** Set for turns started by a reminder, a schedule or the heartbeat. */
  background?: string;
}
