import type { Update } from "grammy/types";
import { z } from "zod";
import { AgentdError } from "../../errors.ts";

const Id = z.union([z.number(), z.string()]);
const User = z.object({ id: z.number() });
const Message = z.object({ message_id: z.number(), chat: z.object({ id: Id }), from: User });
const CallbackQuery = z.object({
  id: z.string(),
  from: User,
  message: z.object({ chat: z.object({ id: Id }) }).optional(),
});

/** What agentd reads of an update: a message needs its chat and sender, a button press its sender. */
const Readable = z.object({
  update_id: z.number(),
  message: Message.optional(),
  callback_query: CallbackQuery.optional(),
});

/** An update Telegram sent but agentd cannot read (no sender, no chat, not an object). */
export class MalformedUpdateError extends AgentdError<"malformed_update"> {
  readonly updateId: number;
  constructor(updateId: number, reason: string) {
    super("malformed_update", `update ${updateId} was acknowledged and ignored: ${reason}`);
    this.updateId = updateId;
  }
}

/**
 * Checks an update before it is handled. Handling one that lacks what the handlers read would throw on
 * every delivery, so Telegram would send it again forever (webhook) or the poller would never get
 * past it: such an update is logged and acknowledged instead.
 */
export function malformedUpdate(update: Update): MalformedUpdateError | null {
  const r = Readable.safeParse(update);
  if (r.success) return null;
  const issue = r.error.issues[0];
  const where = issue?.path.length ? issue.path.join(".") : "(update)";
  return new MalformedUpdateError(update.update_id, `${where}: ${issue?.message ?? "not readable"}`);
}
