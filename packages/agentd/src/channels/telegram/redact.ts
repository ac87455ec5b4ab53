import { GrammyError, HttpError } from "grammy";

export const TOKEN_REDACTED = "[bot token]";

/**
 * The Bot API puts the token in every URL (`/bot<token>/method`), so a network error's message (the
 * fetch library's, wrapped by grammY's HttpError) can quote it. Whatever is logged or answered about
 * a bot goes through here first.
 */
export function redactToken(text: string, token: string): string {
  if (!token) return text;
  let out = text;
  for (const form of new Set([token, encodeURIComponent(token)])) out = out.replaceAll(form, TOKEN_REDACTED);
  return out;
}

/** One line about a Bot API failure, for logs and error answers, without the token. */
export function describeBotError(e: unknown, token: string): string {
  let text: string;
  if (e instanceof GrammyError) text = e.message;
  else if (e instanceof HttpError) {
    const inner = e.error instanceof Error ? e.error.message : String(e.error);
    text = `${e.message} ${inner}`;
  } else text = e instanceof Error ? e.message : String(e);
  return redactToken(text, token);
}
