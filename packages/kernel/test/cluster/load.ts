/**
 * The clients of the cluster tests: start `cluster.mixed` runs n = 0, 1, … at a steady rate (keys
 * `mix-<n>`), send each "event" run its event 0–3 s after its start and, now and then, the same
 * event again (it must be refused as a duplicate). With `retry`, an operation that fails (the server
 * is down) is tried again with the same key or event id until it succeeds.
 */
import assert from "node:assert/strict";
import { type Kernel, RunFinishedError } from "../../src/index.ts";
import { sleep } from "./cluster.ts";
import { eventPayload, mixed, shapeOf } from "./procs/workflows.ts";

export interface LoadStats {
  started: number;
  eventsSent: number;
  duplicatesRefused: number;
  /** Operations that failed and were tried again (retry mode). */
  retried: number;
  firstError: string | null;
}

export class Load {
  readonly #client: Kernel;
  readonly #rand: () => number;
  readonly #retry: boolean;
  readonly ids = new Map<number, string>();
  readonly stats: LoadStats = { started: 0, eventsSent: 0, duplicatesRefused: 0, retried: 0, firstError: null };
  /** Settles when every run is started and every event sent; rejects on an unexpected answer. */
  readonly done: Promise<void>;
  #aborted = false;

  constructor(client: Kernel, opts: { runs: number; overMs: number; rand: () => number; retry?: boolean }) {
    this.#client = client;
    this.#rand = opts.rand;
    this.#retry = opts.retry ?? false;
    const events: { n: number; due: number; dup: boolean }[] = [];
    let starting = true;
    const starter = (async () => {
      const batch = 10;
      const begin = Date.now();
      for (let n0 = 0; n0 < opts.runs && !this.#aborted; n0 += batch) {
        const ns = Array.from({ length: Math.min(batch, opts.runs - n0) }, (_, i) => n0 + i);
        await Promise.all(
          ns.map(async (n) => {
            const id = await this.#start(n);
            this.ids.set(n, id);
            this.stats.started++;
            if (shapeOf(n) === "event") events.push({ n, due: Date.now() + this.#between(0, 3_000), dup: false });
          }),
        );
        const wait = begin + ((n0 + batch) * opts.overMs) / opts.runs - Date.now();
        if (wait > 0) await sleep(wait);
      }
    })().finally(() => (starting = false));
    const sender = (async () => {
      while ((starting || events.length > 0) && !this.#aborted) {
        const now = Date.now();
        for (const e of events.filter((x) => x.due <= now)) {
          events.splice(events.indexOf(e), 1);
          await this.#send(e.n, e.dup);
          if (!e.dup && opts.rand() < 0.2) events.push({ n: e.n, due: now + this.#between(0, 2_000), dup: true });
        }
        await sleep(25);
      }
    })();
    this.done = Promise.all([starter, sender]).then(() => {});
    this.done.catch(() => {});
  }

  /** Stops starting and sending. */
  abort(): void {
    this.#aborted = true;
  }

  #between(lo: number, hi: number): number {
    return lo + Math.floor(this.#rand() * (hi - lo + 1));
  }

  /** Tries `op` until it succeeds (retry mode); `failed` tells it whether an earlier try failed. */
  async #again<T>(op: (failed: boolean) => Promise<T>): Promise<T> {
    for (let failed = false; ; failed = true) {
      try {
        return await op(failed);
      } catch (e) {
        if (!this.#retry || this.#aborted || (e as { code?: string }).code === "ERR_ASSERTION") throw e;
        this.stats.retried++;
        this.stats.firstError ??= String(e);
        await sleep(100);
      }
    }
  }

  #start(n: number): Promise<string> {
    return this.#again(async (failed) => {
      const h = await this.#client.start(mixed, { n }, { key: `mix-${n}` });
      // A start whose answer was lost may have happened: then the same key gives the same run.
      assert.ok(h.created || failed, `run mix-${n} was created twice`);
      return h.id;
    });
  }

  async #send(n: number, dup: boolean): Promise<void> {
    const id = this.ids.get(n) as string;
    await this.#again(async (failed) => {
      if (!dup) {
        const res = await this.#client.sendEvent({ workflow: mixed, key: `mix-${n}` }, "go", eventPayload(n), {
          eventId: `go-${n}`,
        });
        if (failed && !res.delivered) return; // the lost try was delivered
        assert.deepEqual(res, { delivered: true, runId: id }, `event go-${n}`);
        this.stats.eventsSent++;
        return;
      }
      try {
        const res = await this.#client.sendEvent(id, "go", { k: -1 }, { eventId: `go-${n}` });
        assert.deepEqual(res, { delivered: false, runId: id, reason: "duplicate" }, `duplicate of event go-${n}`);
        this.stats.duplicatesRefused++;
      } catch (e) {
        if (!RunFinishedError.is(e)) throw e; // the run consumed it and completed already
      }
    });
  }
}
