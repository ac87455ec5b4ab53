/** The longest body one outbound message may carry, per channel (Twilio: SMS 1600, WhatsApp 4096). */
export const LIMITS: Record<"sms" | "whatsapp", number> = { sms: 1600, whatsapp: 4096 };

export { splitText } from "../split-text.ts";
