import type { StoredError } from "../errors.ts";
import type { ExecutionHost, PublishedChunk } from "../execution-host.ts";
import type { GroupResult, NewRun, WriteOp } from "../store/types.ts";

/** What a write's outcome means for the execution that made it. */
export interface WriteOutcomes {
  /** Not this execution's run: its key named another, or, started here, it was inserted queued behind its lane. */
  notOurs(outcome: "lost" | "queued"): void;
  /** The store refused the write for what it holds. */
  refused(error: StoredError): void;
  /** The lease is lost, or the commit failed: the run is left to a later attempt. */
  lost(): void;
}

/**
 * One execution's writes through the group committer, fenced by its run's epoch. Writes queued in one
 * turn share a batch and one promise, whose outcome is watched once: a write that failed stops the
 * execution at once rather than at its next commit.
 */
export class RunWrites {
  readonly #host: ExecutionHost;
  readonly #runId: string;
  readonly #epoch: () => number;
  readonly #outcomes: WriteOutcomes;
  #watched: Promise<GroupResult> | null = null;
  #publishing: Promise<GroupResult> | null = null;
  /** The chunks of the commit `#publishing` settles, in the order they were published. */
  #chunks: PublishedChunk[] = [];
  /** The commit inserting the run, for a run started here: until it settles the run may turn out not to be ours. */
  #insert: Promise<GroupResult> | null = null;
  /** That commit, until it settles. */
  #inserting: Promise<GroupResult> | null = null;

  constructor(host: ExecutionHost, runId: string, epoch: () => number, outcomes: WriteOutcomes) {
    this.#host = host;
    this.#runId = runId;
    this.#epoch = epoch;
    this.#outcomes = outcomes;
  }

  /** Queues the insert of a run started here; its first step's writes join the same commit. */
  insert(run: NewRun): Promise<GroupResult> {
    const p = this.write({ op: "insertRun", run });
    this.#insert = p;
    this.#inserting = p;
    const settled = () => {
      this.#inserting = null;
    };
    p.then(settled, settled);
    return p;
  }

  /** The commit inserting the run, while it is in flight (null once settled, or for a run not started here). */
  get inserting(): Promise<GroupResult> | null {
    return this.#inserting;
  }

  write(op: WriteOp): Promise<GroupResult> {
    const host = this.#host;
    const p = host.committer.write(this.#runId, this.#epoch(), host.owner, op);
    if (p !== this.#watched) {
      this.#watched = p;
      p.then(
        (r) => {
          if (r.ok) return;
          // Its key named another run, or it was inserted queued behind its lane: the run is not this
          // execution's. Stop now rather than at the next commit.
          if (r.reason === "conflict") this.#outcomes.notOurs("lost");
          else if (r.reason === "lease_lost" && p === this.#insert) this.#outcomes.notOurs("queued");
          else if (r.reason === "refused") this.#outcomes.refused(r.error.stored());
          else this.#outcomes.lost();
        },
        () => this.#outcomes.lost(),
      );
    }
    return p;
  }

  /** The latest write of the run at its epoch, until it is committed (nothing pending: undefined). */
  pending(): Promise<GroupResult> | undefined {
    return this.#host.committer.durable(this.#runId, this.#epoch());
  }

  /** Appends a chunk to the run's stream; subscribers in this process hear of it once committed (one notice a batch). */
  publish(seq: number, attempt: number, data: string): void {
    const host = this.#host;
    const p = this.write({ op: "publish", seq, attempt, data, retain: host.streamRetention });
    if (p !== this.#publishing) {
      this.#publishing = p;
      const chunks: PublishedChunk[] = (this.#chunks = []);
      p.then(
        (r) => r.ok && host.published(this.#runId, chunks, r.lastChunk),
        () => {},
      );
    }
    this.#chunks.push({ seq, attempt, data });
  }
}
