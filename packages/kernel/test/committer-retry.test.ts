import assert from "node:assert/strict";
import { test } from "node:test";
import { Committer } from "../src/committer.ts";
import { FakeClock, type Store } from "../src/index.ts";
import type { GroupResult, WriteGroup } from "../src/store/types.ts";

/** A store whose commits fail with `codes` in turn, then succeed. */
function failing(codes: string[]): { store: Store; calls: () => number } {
  let calls = 0;
  const store = {
    async commit(groups: WriteGroup[]): Promise<GroupResult[]> {
      calls++;
      const code = codes.shift();
      if (code) throw Object.assign(new Error(`failed with ${code}`), { code });
      return groups.map(() => ({ ok: true }));
    },
  } as unknown as Store;
  return { store, calls: () => calls };
}

const release = { op: "release" } as const;

test("a batch chosen as a deadlock's victim (or failing serialization) is committed again, in one piece", async () => {
  const { store, calls } = failing(["40P01", "40001"]);
  const c = new Committer(store, new FakeClock());
  const results = await Promise.all([c.write("a", 1, "w", release), c.write("b", 1, "w", release)]);
  assert.deepEqual(results, [{ ok: true }, { ok: true }]);
  assert.equal(calls(), 3, "two failed attempts of the batch, then one that committed both groups");
});

test("a deadlock that persists fails the batch after five attempts; another error is not retried", async () => {
  const persistent = failing(Array(10).fill("40P01"));
  const c = new Committer(persistent.store, new FakeClock());
  await assert.rejects(c.write("a", 1, "w", release), /40P01/);
  assert.equal(persistent.calls(), 5);
  const down = failing(["57P01"]);
  await assert.rejects(new Committer(down.store, new FakeClock()).write("a", 1, "w", release), /57P01/);
  assert.equal(down.calls(), 1, "a server going down is not a conflict to run again");
});
