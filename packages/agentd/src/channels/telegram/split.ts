import { splitText } from "../split-text.ts";

/** Telegram's limit on a message's text, in UTF-16 code units (what JavaScript's `length` counts). */
export const TELEGRAM_MAX_TEXT = 4096;

/** Splits a reply for Telegram: at most `limit` code units per part, at the safest boundary (see splitText). */
export const splitMessage = (text: string, limit = TELEGRAM_MAX_TEXT): string[] => splitText(text, limit);
