import assert from "node:assert/strict";
import { test } from "node:test";
import { systemClock } from "../src/clock.ts";
import { Committer } from "../src/committer.ts";
import type { GroupResult, Store, WriteGroup, WriteOp } from "../src/store/types.ts";

/**
 * The committer keys a run's pending writes by its id and lease epoch (the id string itself, for
 * speed). Writes of one run at two epochs queued together must stay two groups, each carrying its own
 * epoch to the store's fence, in the order they came; durable() of each epoch waits for its own group.
 */
const release: WriteOp = { op: "release" };

function recordingStore(results: (g: WriteGroup) => GroupResult): { store: Store; batches: WriteGroup[][] } {
  const batches: WriteGroup[][] = [];
  const store = {
    async commit(groups: WriteGroup[]): Promise<GroupResult[]> {
      batches.push(groups.map((g) => ({ ...g, ops: [...g.ops] })));
      return groups.map(results);
    },
  } as unknown as Store;
  return { store, batches };
}

test("one run's writes at two epochs stay two groups, in order, each with its own result", async () => {
  // The store fences as a real one would: only epoch 2 holds run "a".
  const { store, batches } = recordingStore((g) =>
    g.runId === "a" && g.epoch === 1 ? { ok: false, reason: "lease_lost" } : { ok: true },
  );
  const c = new Committer(store, systemClock);
  const a1 = c.write("a", 1, "w1", release);
  const a2 = c.write("a", 2, "w2", release);
  const b1 = c.write("b", 1, "w1", release);
  const a1again = c.write("a", 1, "w1", release);
  assert.equal(a1again, a1, "a second write at the same epoch joins its group");
  assert.equal(c.durable("a", 1), a1);
  assert.equal(c.durable("a", 2), a2);
  assert.equal(c.durable("a", 3), undefined);
  assert.deepEqual(await Promise.all([a1, a2, b1]), [{ ok: false, reason: "lease_lost" }, { ok: true }, { ok: true }]);
  assert.equal(batches.length, 1);
  assert.deepEqual(
    batches[0]?.map((g) => [g.runId, g.epoch, g.owner, g.ops.length]),
    [
      ["a", 1, "w1", 2],
      ["a", 2, "w2", 1],
      ["b", 1, "w1", 1],
    ],
  );
  for (const [id, epoch] of [
    ["a", 1],
    ["a", 2],
    ["b", 1],
  ] as const)
    assert.equal(c.durable(id, epoch), undefined, `${id}@${epoch} settled: nothing to wait for`);
});

test("a write queued while its epoch's previous group is in flight is waited for by durable()", async () => {
  let unblock!: () => void;
  const gate = new Promise<void>((r) => (unblock = r));
  const batches: number[] = [];
  const store = {
    async commit(groups: WriteGroup[]): Promise<GroupResult[]> {
      batches.push(groups.length);
      if (batches.length === 1) await gate;
      return groups.map(() => ({ ok: true }));
    },
  } as unknown as Store;
  const c = new Committer(store, systemClock);
  const first = c.write("a", 2, "w", release);
  c.write("a", 1, "w", release);
  await new Promise((r) => setImmediate(r));
  // The first batch is in flight; a new write at epoch 2 starts the next one, and durable() now means it.
  const second = c.write("a", 2, "w", release);
  assert.notEqual(second, first);
  assert.equal(c.durable("a", 2), second);
  unblock();
  await first;
  assert.equal(c.durable("a", 2), second, "the first group settling does not forget the second");
  assert.equal(c.durable("a", 1), undefined);
  await second;
  await c.drain();
  assert.equal(c.durable("a", 2), undefined);
  assert.deepEqual(batches, [2, 1]);
});
