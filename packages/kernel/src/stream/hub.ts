import type { PublishedChunk } from "../execution-host.ts";
import type { Store } from "../store/types.ts";

/** A committed chunk at its stream position, as this process's worker handed it over. */
export interface HeldChunk extends PublishedChunk {
  pos: number;
}

/**
 * Past this many chunks a subscriber has not taken, it forgets them and reads the store instead: a
 * slow reader holds a bounded number in memory.
 */
const MAX_HELD = 1_000;

/** One subscriber's watch on a run's stream: the chunks handed over since it began, and whether only a read can tell more. */
export class StreamWatch {
  readonly runId: string;
  /** Committed chunks handed over in this process, in position order. */
  readonly chunks: HeldChunk[] = [];
  /** Something happened that only a store read can tell (a notice from another process, the run's end, a chunk without its position). */
  stale = false;
  #wake: (() => void) | null = null;

  constructor(runId: string) {
    this.runId = runId;
  }

  /** Resolves at once when something is there, else at the next hand-over or notice, or after `ms` (then `stale`). */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.chunks.length > 0 || this.stale || signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        signal?.removeEventListener("abort", done);
        this.#wake = null;
        resolve();
      };
      const t = setTimeout(() => {
        this.stale = true;
        done();
      }, ms);
      signal?.addEventListener("abort", done, { once: true });
      this.#wake = done;
    });
  }

  /** @internal */
  hand(chunks: PublishedChunk[], lastChunk: number | undefined): void {
    if (lastChunk === undefined || this.chunks.length + chunks.length > MAX_HELD) {
      this.chunks.length = 0;
      this.stale = true;
    } else {
      const first = lastChunk - chunks.length + 1;
      for (let i = 0; i < chunks.length; i++) this.chunks.push({ ...(chunks[i] as PublishedChunk), pos: first + i });
    }
    this.#wake?.();
  }

  /** @internal */
  ring(): void {
    this.stale = true;
    this.#wake?.();
  }
}

/**
 * Who watches which run's stream, in this process. The worker in this process hands it the chunks it
 * committed, with their positions (no read); a store shared between processes (Postgres) rings it
 * from its notifications, and the watchers read the store then. A notice about a run this process's
 * worker executes is its own commit coming back, already handed over: it is not read again.
 */
export class StreamHub {
  readonly #watches = new Map<string, Set<StreamWatch>>();
  readonly #executing: (runId: string) => boolean;
  #unsubscribe: (() => void) | null = null;
  readonly #connect: () => void;

  constructor(store: Store, executing: (runId: string) => boolean = () => false) {
    this.#executing = executing;
    // Subscribe to the store lazily: only processes that read streams need a listening connection.
    this.#connect = () => {
      this.#unsubscribe ??=
        store.onStream?.((runId) => {
          // An empty notice: listening again after a break, anything may have happened (to runs executed elsewhere).
          if (!runId) {
            for (const id of this.#watches.keys()) if (!this.#executing(id)) this.ring(id);
          } else if (!this.#executing(runId)) this.ring(runId);
        }) ?? (() => {});
    };
  }

  /** Starts watching a run's stream: everything committed from now on is handed over or rung. Call before reading. */
  watch(runId: string): StreamWatch {
    this.#connect();
    const w = new StreamWatch(runId);
    let set = this.#watches.get(runId);
    if (!set) this.#watches.set(runId, (set = new Set()));
    set.add(w);
    return w;
  }

  unwatch(w: StreamWatch): void {
    const set = this.#watches.get(w.runId);
    if (!set) return;
    set.delete(w);
    if (set.size === 0) this.#watches.delete(w.runId);
  }

  /** This process committed `chunks` to the run's stream, the last at `lastChunk` (undefined: the store did not say). */
  published(runId: string, chunks: PublishedChunk[], lastChunk: number | undefined): void {
    const set = this.#watches.get(runId);
    if (set) for (const w of set) w.hand(chunks, lastChunk);
  }

  /** Something about the run changed that watchers must read (a chunk from elsewhere, its end). */
  ring(runId: string): void {
    const set = this.#watches.get(runId);
    if (set) for (const w of set) w.ring();
  }

  ringAll(): void {
    for (const set of this.#watches.values()) for (const w of set) w.ring();
  }

  close(): void {
    this.#unsubscribe?.();
    this.ringAll();
  }
}
