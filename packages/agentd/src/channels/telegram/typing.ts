import type { Bot } from "grammy";

export interface Typing {
  /**
   * One indicator (Telegram shows it about 5 s), no renewal: what the webhook shows at once, before
   * the turn's worker (perhaps another process) takes over with a renewed one.
   */
  once(chatId: string): void;
  start(chatId: string): void;
  stop(chatId: string): void;
  close(): void;
}

/** The typing indicator: Telegram shows it for about 5 s, so it is renewed until stopped or `limitMs` passes. */
export function typingIndicator(bot: Bot, limitMs: number, onError: (e: unknown) => void): Typing {
  const timers = new Map<string, NodeJS.Timeout>();
  const send = (chatId: string) => void bot.api.sendChatAction(chatId, "typing").catch(onError);
  const stop = (chatId: string) => {
    clearInterval(timers.get(chatId));
    timers.delete(chatId);
  };
  return {
    once: send,
    start(chatId) {
      stop(chatId);
      send(chatId);
      const until = Date.now() + limitMs;
      const interval = setInterval(() => (Date.now() > until ? stop(chatId) : send(chatId)), 4_000);
      interval.unref();
      timers.set(chatId, interval);
    },
    stop,
    close: () => [...timers.keys()].forEach(stop),
  };
}
