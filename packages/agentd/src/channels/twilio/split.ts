/**
 * The longest body one outbound message may carry, per channel: Twilio's Messages API takes at most
 * 1,600 characters of `Body` on every channel (errors 21617 / 21658), WhatsApp's own 4,096 included.
 */
export const LIMITS: Record<"sms" | "whatsapp", number> = { sms: 1600, whatsapp: 1600 };

export { splitText } from "../split-text.ts";
