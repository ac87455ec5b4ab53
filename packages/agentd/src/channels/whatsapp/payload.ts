import { z } from "zod";
import { AgentdError } from "../../errors.ts";

/**
 * The Cloud API's webhook body, read as far as agentd needs it. Loose objects: Meta adds fields
 * often and an unknown field must never turn a message away. One POST may carry several entries,
 * changes, messages and statuses; every one of them is handled.
 */
const Media = z.looseObject({
  id: z.string().min(1),
  mime_type: z.string().optional(),
  sha256: z.string().optional(),
  caption: z.string().optional(),
  filename: z.string().optional(),
  voice: z.boolean().optional(),
});

const Message = z.looseObject({
  id: z.string().min(1),
  /** The sender's phone number (wa_id); absent when the person uses a username only. */
  from: z.string().min(1).optional(),
  /** The sender's business-scoped user id (BSUID). */
  from_user_id: z.string().min(1).optional(),
  group_id: z.string().optional(),
  timestamp: z.string().optional(),
  type: z.string(),
  text: z.looseObject({ body: z.string() }).optional(),
  image: Media.optional(),
  audio: Media.optional(),
  video: Media.optional(),
  document: Media.optional(),
  sticker: Media.optional(),
  interactive: z
    .looseObject({
      type: z.string(),
      button_reply: z.looseObject({ id: z.string(), title: z.string() }).optional(),
      list_reply: z.looseObject({ id: z.string(), title: z.string() }).optional(),
    })
    .optional(),
  /** A quick-reply button of a template message. */
  button: z.looseObject({ text: z.string(), payload: z.string().optional() }).optional(),
});

const Status = z.looseObject({
  id: z.string().min(1),
  status: z.string().min(1),
  timestamp: z.string().optional(),
  recipient_id: z.string().optional(),
  biz_opaque_callback_data: z.string().optional(),
  errors: z
    .array(z.looseObject({ code: z.number(), title: z.string().optional(), message: z.string().optional() }))
    .optional(),
});

/** The value of a `messages` change; its items are read one by one, so one bad item does not sink the others. */
const MessagesValue = z.looseObject({
  metadata: z.looseObject({ phone_number_id: z.string().min(1), display_phone_number: z.string().optional() }),
  contacts: z
    .array(
      z.looseObject({
        wa_id: z.string().optional(),
        user_id: z.string().optional(),
        profile: z.looseObject({ name: z.string().optional() }).optional(),
      }),
    )
    .optional(),
  messages: z.array(z.unknown()).optional(),
  statuses: z.array(z.unknown()).optional(),
});

const Payload = z.looseObject({
  object: z.literal("whatsapp_business_account"),
  entry: z.array(
    z.looseObject({
      id: z.string().optional(),
      changes: z.array(z.looseObject({ field: z.string(), value: z.unknown() })),
    }),
  ),
});

export type WhatsAppMessage = z.infer<typeof Message>;
export type WhatsAppMedia = z.infer<typeof Media>;
export type WhatsAppStatus = z.infer<typeof Status>;

/** One inbound message with where it arrived and what the payload says of its sender. */
export interface Inbound {
  phoneNumberId: string;
  message: WhatsAppMessage;
  /** The sender's profile name, when the payload names it. */
  name: string | undefined;
}

export interface Parsed {
  messages: Inbound[];
  statuses: { phoneNumberId: string; status: WhatsAppStatus }[];
  /** Items that are not what Meta sends, with the reason: skipped (and logged), the others handled. */
  skipped: string[];
}

/** A body that is not a Cloud API webhook: the reason says which field is wrong. */
export class PayloadError extends AgentdError<"bad_payload"> {
  constructor(message: string) {
    super("bad_payload", message);
  }
}

/**
 * The messages and statuses of a webhook body, in the order Meta listed them; changes of other fields
 * are ignored. A body that is not a Cloud API webhook at all, or holds nothing usable, is a
 * PayloadError (400); a bad item among good ones is skipped with its reason, so Meta's redelivery of
 * the same body cannot lose the good ones forever.
 */
export function parseWebhook(body: unknown): Parsed {
  const top = Payload.safeParse(body);
  if (!top.success) throw new PayloadError(describe(top.error));
  const out: Parsed = { messages: [], statuses: [], skipped: [] };
  for (const [e, entry] of top.data.entry.entries()) {
    for (const [c, change] of entry.changes.entries()) {
      if (change.field !== "messages") continue; // account, template and quality updates: not ours to act on
      const at = `entry.${e}.changes.${c}.value`;
      const v = MessagesValue.safeParse(change.value);
      if (!v.success) {
        out.skipped.push(`${at}: ${describe(v.error)}`);
        continue;
      }
      const phoneNumberId = v.data.metadata.phone_number_id;
      for (const [i, item] of (v.data.messages ?? []).entries()) {
        const m = Message.safeParse(item);
        if (!m.success) {
          out.skipped.push(`${at}.messages.${i}: ${describe(m.error)}`);
          continue;
        }
        const message = m.data;
        const contact =
          v.data.contacts?.find(
            (x) =>
              (message.from && x.wa_id === message.from) ||
              (message.from_user_id && x.user_id === message.from_user_id),
          ) ?? v.data.contacts?.[0];
        out.messages.push({ phoneNumberId, message, name: contact?.profile?.name });
      }
      for (const [i, item] of (v.data.statuses ?? []).entries()) {
        const st = Status.safeParse(item);
        if (st.success) out.statuses.push({ phoneNumberId, status: st.data });
        else out.skipped.push(`${at}.statuses.${i}: ${describe(st.error)}`);
      }
    }
  }
  if (out.skipped.length && !out.messages.length && !out.statuses.length)
    throw new PayloadError(out.skipped.slice(0, 3).join("; "));
  return out;
}

function describe(e: z.ZodError): string {
  return e.issues
    .slice(0, 3)
    .map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`)
    .join("; ");
}
