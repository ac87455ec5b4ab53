import type { Store } from "../store/types.ts";

/** What a test registers cleanup with (node:test's `t`). */
export interface TestScope {
  after(fn: () => unknown): void;
}

/** A fresh store to run one test against, and how to reach it again. */
export interface TempStore {
  store: Store;
  /** Another connection to the same store, as a second process would open it (a new kernel replays from it). */
  open(): Promise<Store>;
  /** Where it lives, for messages (a file path, a URL and schema). */
  where: string;
}

/**
 * A store kind the conformance suite runs against. `temp` gives a fresh, empty store for one test
 * and registers its removal with `t.after` (close every store `open` returned, then delete the data).
 */
export interface Backend {
  /** Names the tests (`describe(name)`); the suite adjusts a few sizes for "sqlite" and skips what only "postgres" promises. */
  name: string;
  temp(t: TestScope): Promise<TempStore>;
}
