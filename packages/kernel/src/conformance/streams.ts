import assert from "node:assert/strict";
import { test } from "node:test";
import { type Chunk, StreamOffsetError, workflow } from "../index.ts";
import type { Backend } from "./backend.ts";
import { fakeKernel, gate, tempStore, until } from "./helpers.ts";

async function take<T>(it: AsyncIterable<Chunk<T>>, n = Number.POSITIVE_INFINITY): Promise<Chunk<T>[]> {
  const out: Chunk<T>[] = [];
  for await (const c of it) {
    out.push(c);
    if (out.length >= n) break;
  }
  return out;
}

export function streams(backend: Backend): void {
  test("chunks a step publishes reach a subscriber live, in order, and the stream ends with the run", async (t) => {
    const { store } = await tempStore(t, backend);
    const gates = [gate(), gate(), gate()];
    const talk = workflow("talk", async (ctx) =>
      ctx.step("speak", async ({ publish }) => {
        for (let i = 0; i < 3; i++) {
          publish({ word: `w${i}` });
          await gates[i]!.promise;
        }
        return "said";
      }),
    );
    const { kernel } = fakeKernel(t, store, [talk]);
    const run = await kernel.start(talk, null);
    const got: string[] = [];
    const reading = (async () => {
      for await (const c of kernel.subscribe<{ word: string }>(run.id)) got.push(`${c.offset}:${c.data.word}`);
    })();
    await until(() => got.length === 1, "the first chunk, while the step is still running");
    assert.deepEqual(got, ["1:w0"]);
    gates[0]!.open();
    await until(() => got.length === 2, "the second chunk");
    gates[1]!.open();
    gates[2]!.open();
    await reading;
    assert.deepEqual(got, ["1:w0", "2:w1", "3:w2"]);
    assert.equal(await run.result(), "said");
  });

  test("a subscriber that reconnects from an offset resumes without loss or duplicates", async (t) => {
    const { store } = await tempStore(t, backend);
    const talk = workflow("count", async (ctx, n: number) =>
      ctx.step("count", ({ publish }) => {
        for (let i = 1; i <= n; i++) publish(i);
        return n;
      }),
    );
    const { kernel } = fakeKernel(t, store, [talk]);
    const run = await kernel.start(talk, 50);
    await run.result();
    const first = await take(kernel.subscribe<number>(run.id), 20);
    const rest = await take(kernel.subscribe<number>(run.id, { from: (first.at(-1)?.offset ?? 0) + 1 }));
    assert.deepEqual(
      [...first, ...rest].map((c) => c.data),
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    assert.deepEqual(
      rest.map((c) => c.offset),
      Array.from({ length: 30 }, (_, i) => i + 21),
    );
  });

  test("offsets outside the retained range are refused with the range; nothing is stored by asking", async (t) => {
    const { store } = await tempStore(t, backend);
    const flood = workflow("flood", async (ctx, n: number) =>
      ctx.step("flood", ({ publish }) => {
        for (let i = 1; i <= n; i++) publish(i);
        return n;
      }),
    );
    const { kernel } = fakeKernel(t, store, [flood], { streamRetention: 1_000 });
    const run = await kernel.start(flood, 2_500);
    await run.result();
    const kept = await take(kernel.subscribe<number>(run.id, { from: 1_001 }));
    assert.equal(kept[0]?.offset, 1_001);
    assert.equal(kept.at(-1)?.offset, 2_500);
    await assert.rejects(
      take(kernel.subscribe(run.id, { from: 5 })),
      (e: Error) => StreamOffsetError.is(e) && /holds positions 1001 to 2500/.test(e.message),
    );
    await assert.rejects(take(kernel.subscribe(run.id, { from: 2_502 })), StreamOffsetError);
    await assert.rejects(take(kernel.subscribe(run.id, { from: 0 })), /at least 1/);
    await assert.rejects(take(kernel.subscribe("nope")), /no run with id nope/);
    assert.equal(
      (await take(kernel.subscribe(run.id, { from: 2_501 }))).length,
      0,
      "from the end: nothing more, the run has ended",
    );
  });
}
