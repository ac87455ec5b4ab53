import { InvalidArgumentError, RunNotFoundError, StreamOffsetError } from "../errors.ts";
import { decodeJson } from "../json.ts";
import { isTerminal, type Store } from "../store/types.ts";
import type { StreamHub } from "./hub.ts";

/** One chunk of a run's stream, as subscribers receive it. */
export interface Chunk<T = unknown> {
  /** Its position: resume after a disconnect with `from: offset + 1`. */
  offset: number;
  data: T;
  /** The step (journal seq) and attempt that published it. */
  seq: number;
  attempt: number;
}

export interface SubscribeOptions {
  /** First position to receive (default 1, the start of what is retained). */
  from?: number;
  /** Stops the subscription. */
  signal?: AbortSignal;
  /** How often to look again without a notice (a SQLite file written by another process). */
  pollMs?: number;
}

const PAGE = 500;

/**
 * The chunks of a run's stream from `from` on, live: it ends after the last chunk of a run that has
 * ended. A position no longer retained, or past the end, throws StreamOffsetError at once.
 */
export async function* subscribe<T = unknown>(
  store: Store,
  hub: StreamHub,
  runId: string,
  opts: SubscribeOptions = {},
): AsyncGenerator<Chunk<T>> {
  const from = opts.from ?? 1;
  if (!Number.isSafeInteger(from) || from < 1)
    throw new InvalidArgumentError(
      `a stream offset must be a whole number of at least 1, got ${JSON.stringify(opts.from)}.`,
    );
  if (!(await store.getRun(runId))) throw new RunNotFoundError(`with id ${runId}`);
  let next = from;
  const ends = await store.readStream(runId, next, 0);
  if ((ends.first !== null && next < ends.first) || next > (ends.last ?? 0) + 1)
    throw new StreamOffsetError(runId, next, ends.first, ends.last);
  for (;;) {
    if (opts.signal?.aborted) return;
    // Listen before reading, so a chunk published in between is not missed.
    const wake = hub.next(runId, opts.pollMs ?? 250);
    const abort = () => wake.cancel();
    opts.signal?.addEventListener("abort", abort, { once: true });
    try {
      const page = await store.readStream(runId, next, PAGE);
      const head = page.chunks[0];
      if (head && head.pos > next) throw new StreamOffsetError(runId, next, page.first, page.last); // trimmed while we read
      for (const c of page.chunks) {
        yield { offset: c.pos, data: decodeJson(c.data) as T, seq: c.seq, attempt: c.attempt };
        next = c.pos + 1;
      }
      if (page.chunks.length === PAGE) continue;
      const run = await store.getRun(runId);
      if (!run || isTerminal(run.status)) {
        // The run ended: whatever it published is committed; one last read and the stream is over.
        const rest = await store.readStream(runId, next, Number.MAX_SAFE_INTEGER);
        for (const c of rest.chunks)
          yield { offset: c.pos, data: decodeJson(c.data) as T, seq: c.seq, attempt: c.attempt };
        return;
      }
      await wake.promise;
    } finally {
      wake.cancel();
      opts.signal?.removeEventListener("abort", abort);
    }
  }
}
