/**
 * What this process last saw of each concurrency lane: the stamp its store gave the lane when a run of it
 * ended here (Postgres stamps every end; SQLite reports none, so nothing is kept). A run started here
 * takes its lane's stamp as it begins; if the commit that admits it finds the same stamp, no run of the
 * lane ended between the two, and a read made in between is as fresh as one made once admitted. A stamp
 * is only a hint of when to try: a lane whose runs end elsewhere reads again after admission, as before.
 */
export class LaneEnds {
  readonly #seen = new Map<string, number>();
  readonly #max: number;

  /** Bounded: the lanes seen longest ago are forgotten first (a forgotten lane only reads after admission). */
  constructor(max = 4096) {
    this.#max = max;
  }

  /** A run of the lane begins here: the stamp seen before it, which it takes (the lane is busy until it ends). */
  take(key: string): number | undefined {
    const seen = this.#seen.get(key);
    if (seen !== undefined) this.#seen.delete(key);
    return seen;
  }

  /** A run of the lane ended here and its commit stamped the lane. */
  saw(key: string, stamp: number): void {
    this.#seen.delete(key);
    this.#seen.set(key, stamp);
    if (this.#seen.size > this.#max) {
      const oldest = this.#seen.keys().next();
      if (!oldest.done) this.#seen.delete(oldest.value);
    }
  }

  get size(): number {
    return this.#seen.size;
  }
}
