import { GrammyError, HttpError } from "grammy";
import type { ComponentState } from "../../health/checks.ts";
import { describeBotError } from "./redact.ts";

/** What watches a bot's link to the Bot API: failures are logged at once with their cause, and /health follows. */
export interface BotConnection {
  /** A call failed; `retryInMs` is when the next try is (null: retrying cannot help). */
  failed(e: unknown, retryInMs: number | null): void;
  /** A call went through. */
  ok(): void;
  /** The link as /health shows it; null until the first call ends. */
  state(): ComponentState | null;
}

/**
 * The Bot API's own failures (unreachable, its 5xx, a refused token), as opposed to agentd failing to
 * handle an update: only these say the channel is down.
 */
export const isBotApiFailure = (e: unknown): boolean => e instanceof HttpError || e instanceof GrammyError;

export function botConnection(token: string, log: (line: string) => void): BotConnection {
  let failures = 0;
  let state: ComponentState | null = null;
  return {
    failed(e, retryInMs) {
      failures++;
      const why = `${e instanceof HttpError ? "cannot reach the Bot API" : "the Bot API failed"}: ${describeBotError(e, token)}`;
      const next =
        retryInMs === null
          ? "retrying cannot help"
          : `trying again in ${seconds(retryInMs)} (failure ${failures} in a row)`;
      state = { ok: false, detail: `${why}; ${next}` };
      log(state.detail);
    },
    ok() {
      if (failures > 0) log(`the Bot API answers again after ${failures} failed ${failures === 1 ? "try" : "tries"}`);
      failures = 0;
      state = { ok: true, detail: "the Bot API answers" };
    },
    state: () => state,
  };
}

const seconds = (ms: number) => (ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`);
