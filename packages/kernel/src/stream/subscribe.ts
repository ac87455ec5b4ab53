import { InvalidArgumentError, RunNotFoundError, StreamOffsetError } from "../errors.ts";
import { decodeJson } from "../json.ts";
import { isTerminal, type Store } from "../store/types.ts";
import type { HeldChunk, StreamHub } from "./hub.ts";

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
 *
 * What this process's worker commits is handed over by the hub with its position, so a subscriber
 * beside the worker receives a chunk without reading the store; it reads the store at the start,
 * after a notice from another process, at the run's end, at a gap in the positions, and every
 * `pollMs` while nothing comes.
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
  // Watch before reading, so a chunk committed in between is not missed.
  const watch = hub.watch(runId);
  try {
    const run = await store.getRun(runId);
    if (!run) throw new RunNotFoundError(`with id ${runId}`);
    let next = from;
    // The first page also gives the positions retained: the offset is checked without a read of its own.
    let page: Awaited<ReturnType<Store["readStream"]>> | null = await store.readStream(runId, next, PAGE);
    if ((page.first !== null && next < page.first) || next > (page.last ?? 0) + 1)
      throw new StreamOffsetError(runId, next, page.first, page.last);
    // Ended before the read began: the read holds everything it published.
    let ended = isTerminal(run.status);
    for (;;) {
      if (opts.signal?.aborted) return;
      if (page) {
        const head = page.chunks[0];
        if (head && head.pos > next) throw new StreamOffsetError(runId, next, page.first, page.last); // trimmed while we read
        for (const c of page.chunks) {
          if (c.pos < next) continue;
          yield { offset: c.pos, data: decodeJson(c.data) as T, seq: c.seq, attempt: c.attempt };
          next = c.pos + 1;
        }
        if (page.chunks.length === PAGE) {
          page = await store.readStream(runId, next, PAGE);
          continue;
        }
        if (ended) return;
        page = null;
      }
      // Chunks this process committed since, with their positions: no read.
      let gap = false;
      while (watch.chunks.length > 0) {
        const c = watch.chunks.shift() as HeldChunk;
        if (c.pos < next) continue; // already read from the store
        if (c.pos > next) {
          gap = true; // committed elsewhere in between: the store has them
          watch.chunks.unshift(c);
          break;
        }
        yield { offset: c.pos, data: decodeJson(c.data) as T, seq: c.seq, attempt: c.attempt };
        next = c.pos + 1;
        if (opts.signal?.aborted) return;
      }
      if (!gap) await watch.wait(opts.pollMs ?? 250, opts.signal);
      if (opts.signal?.aborted) return;
      if (!gap && !watch.stale) continue;
      watch.stale = false;
      // Read the store: the status first, so that a run seen ended has published everything the read returns.
      const now = await store.getRun(runId);
      ended = !now || isTerminal(now.status);
      page = await store.readStream(runId, next, ended ? Number.MAX_SAFE_INTEGER : PAGE);
    }
  } finally {
    hub.unwatch(watch);
  }
}
