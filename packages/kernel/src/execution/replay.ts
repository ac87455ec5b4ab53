import type { EntryKind, EntryRecord } from "../store/types.ts";

/** What the journal says about the next command the workflow code issues. */
export type NextCommand =
  | { seq: number; entry: EntryRecord | undefined }
  /** The journal holds a different command at this seq: the code changed since the run began. */
  | { seq: number; mismatch: EntryRecord };

/**
 * One execution's cursor over its run's journal: commands take seq 1, 2, … in the order the code
 * issues them and are answered from the entry at that seq while there is one (replay), then run and
 * append. Also the failures thrown into the code since its last new command: the next new command
 * marks them handled, so kernel.retry() never re-runs them.
 */
export class Replay {
  readonly #journal: Map<number, EntryRecord>;
  #seq = 0;
  /** Highest seq written so far: first writes of entries happen in seq order, so a higher one is new. */
  #written: number;
  #thrown: EntryRecord[] = [];

  constructor(journal: EntryRecord[]) {
    this.#journal = new Map(journal.map((e) => [e.seq, e]));
    this.#written = journal.reduce((m, e) => Math.max(m, e.seq), 0);
  }

  /** Entries not visited yet. */
  get unvisited(): number {
    return this.#journal.size;
  }

  /** Takes the next seq, with its journal entry if the run got that far before. */
  next(kind: EntryKind, name: string): NextCommand {
    const seq = ++this.#seq;
    const entry = this.#journal.get(seq);
    if (!entry) return { seq, entry: undefined };
    this.#journal.delete(seq);
    if (entry.kind !== kind || entry.name !== name) return { seq, mismatch: entry };
    return { seq, entry };
  }

  /** A failure reached the code (unless already marked handled). */
  failed(rec: EntryRecord): void {
    if (rec.error?.handledAt === undefined) this.#thrown.push(rec);
  }

  /** The code went on to a new command at `seq`: the failures thrown into it before, marked handled there, to write again. */
  handled(seq: number): EntryRecord[] {
    if (this.#thrown.length === 0) return [];
    const marked = this.#thrown.map((rec) => ({
      ...rec,
      error: { ...(rec.error ?? { name: "Error", message: "" }), handledAt: seq },
    }));
    this.#thrown = [];
    return marked;
  }

  /** Records a write of the entry at `seq`: true if it updates an entry written before, false if it is new. */
  written(seq: number): boolean {
    if (seq <= this.#written) return true;
    this.#written = seq;
    return false;
  }

  /** The first entry the code never visited (at its end: the code changed), if any. */
  leftover(): EntryRecord | undefined {
    return [...this.#journal.values()].sort((a, b) => a.seq - b.seq)[0];
  }
}
