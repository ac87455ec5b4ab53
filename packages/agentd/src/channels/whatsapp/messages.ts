import { ActionButtons, Body, Button, Interactive, Text } from "whatsapp-api-js/messages";
import type { Delivery } from "../ports.ts";
import { buttonData, DECISION_BUTTONS } from "../decisions.ts";
import { splitText } from "../split-text.ts";
import { toWhatsAppText } from "./format.ts";

/** The Cloud API's limit on a text message's body. */
export const WHATSAPP_MAX_TEXT = 4096;
/** An interactive message's body holds at most 1024 characters. */
const MAX_BUTTON_BODY = 1024;

/** A delivery as Cloud API messages: an approval as one message with three reply buttons, anything else as text parts. */
export function messagesOf(d: Pick<Delivery, "kind" | "text" | "approval">) {
  if (d.kind === "approval" && d.approval) {
    const a = d.approval;
    const ask = `Approve ${a.tool}: ${a.subject}`;
    const tail = `?${a.always ? `\n\n"Always" allows ${a.always} from now on.` : ""}\n\n(or reply YES ${a.code} / NO ${a.code})`;
    const body =
      ask.length + tail.length > MAX_BUTTON_BODY
        ? `${ask.slice(0, MAX_BUTTON_BODY - tail.length - 1)}…${tail}`
        : ask + tail;
    const buttons = DECISION_BUTTONS.map((b) => new Button(buttonData(a.id, b.choice), b.title));
    return [new Interactive(new ActionButtons(...(buttons as [Button, ...Button[]])), new Body(body))];
  }
  return splitText(toWhatsAppText(d.text), WHATSAPP_MAX_TEXT).map((part) => new Text(part));
}
