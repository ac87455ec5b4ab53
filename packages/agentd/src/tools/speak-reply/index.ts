import { z } from "zod";
import type { Tenants } from "../../tenancy/tenants.ts";
import type { Tool } from "../types.ts";

/** The tool's name: the turn speaks its reply when a call of it was made (agent/turn.ts). */
export const SPEAK_REPLY = "speak_reply";

export const SPOKEN =
  "Your reply will also be sent as a voice note: write it to be heard (short sentences, no tables or code).";
export const NOT_SPOKEN =
  "Voice replies are off for this account (its voiceReplies setting): answer in text, and say that you cannot send voice notes here.";

/**
 * `speak_reply`: the person asked to hear the answer ("tell me by voice", in any language), so the
 * turn's reply is spoken too (media/speech.ts), as it is for a voice note under voiceReplies
 * "voice". Offered only where a speech model is set; a tenant whose voiceReplies is "off" is told so,
 * and nothing is spoken. The call itself only says yes: the turn reads the call from its journal.
 */
export function speakReplyTool(tenants: Pick<Tenants, "get">): Tool<Record<string, never>> {
  return {
    name: SPEAK_REPLY,
    description: "Also send your reply as a voice note, when the person asks to hear it.",
    input: z.object({}).strict() as z.ZodType<Record<string, never>>,
    risk: "low",
    defaultDecision: "allow",
    subject: () => "",
    async run(_a, ctx) {
      const mode = (await tenants.get(ctx.tenant.tenantId))?.settings.voiceReplies ?? "off";
      return mode === "off" ? NOT_SPOKEN : SPOKEN;
    },
  };
}
