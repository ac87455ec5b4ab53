import assert from "node:assert/strict";
import { test } from "node:test";
import { type Chunk, type Store, workflow } from "../src/index.ts";
import { BACKENDS } from "./backends.ts";
import { fakeKernel, gate, tempStore, until } from "./helpers.ts";

/** The store with its stream reads counted: what a subscriber asks of it. */
function counted(store: Store): { store: Store; reads: () => number } {
  let n = 0;
  const wrapped = new Proxy(store, {
    get(target, key) {
      const v = Reflect.get(target, key, target);
      if (key === "readStream")
        return (...args: Parameters<Store["readStream"]>) => {
          n++;
          return target.readStream(...args);
        };
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { store: wrapped, reads: () => n };
}

for (const backend of BACKENDS) {
  test(`${backend.name}: a subscriber beside the worker is handed each committed chunk without reading the store`, async (t) => {
    const base = (await tempStore(t, backend)).store;
    const { store, reads } = counted(base);
    const gates = Array.from({ length: 6 }, () => gate());
    const talk = workflow("talk", async (ctx) =>
      ctx.step("speak", async ({ publish }) => {
        for (let i = 0; i < gates.length; i++) {
          publish({ word: `w${i}` });
          await gates[i]!.promise;
        }
        return "said";
      }),
    );
    const { kernel } = fakeKernel(t, store, [talk]);
    const run = await kernel.start(talk, null);
    const got: Chunk<{ word: string }>[] = [];
    const reading = (async () => {
      for await (const c of kernel.subscribe<{ word: string }>(run.id, { pollMs: 60_000 })) got.push(c);
    })();
    await until(() => got.length === 1, "the first chunk");
    const atStart = reads();
    for (let i = 0; i < gates.length - 1; i++) {
      gates[i]!.open();
      await until(() => got.length === i + 2, `chunk ${i + 2}`);
    }
    assert.equal(reads(), atStart, "chunks 2 to 6 came from the hub, not from reads of the store");
    gates.at(-1)!.open();
    await reading;
    assert.equal(await run.result(), "said");
    assert.ok(reads() <= atStart + 1, `the run's end costs one read at most (${reads() - atStart})`);
    const stored = (await base.readStream(run.id, 1, 100)).chunks;
    assert.deepEqual(
      got.map((c) => [c.offset, c.seq, c.attempt, c.data.word]),
      stored.map((c) => [c.pos, c.seq, c.attempt, JSON.parse(c.data).word]),
      "what was handed over is what the store holds, at the same positions",
    );
  });

  test(`${backend.name}: handed-over positions continue the stream a run published before (retries, later steps, many to a commit)`, async (t) => {
    const base = (await tempStore(t, backend)).store;
    const later = gate();
    let tries = 0;
    const talk = workflow("talk", async (ctx) => {
      await ctx.step(
        "first",
        ({ publish }) => {
          for (let i = 0; i < 3; i++) publish({ n: `a${tries}.${i}` });
          if (tries++ === 0) throw new Error("once more");
          return 1;
        },
        { retry: { maxAttempts: 2, initialInterval: 1 } },
      );
      return ctx.step("second", async ({ publish }) => {
        await later.promise;
        for (let i = 0; i < 40; i++) publish({ n: `b${i}` });
        await new Promise((r) => setImmediate(r));
        for (let i = 40; i < 80; i++) publish({ n: `b${i}` });
        return 2;
      });
    });
    const { kernel, clock } = fakeKernel(t, base, [talk]);
    const run = await kernel.start(talk, null);
    // The first step's attempts (the retry after a fake-clock back-off) are stored before anyone subscribes.
    await until(async () => {
      await clock.advance(10);
      return (await base.readStream(run.id, 1, 10)).chunks.length === 6;
    }, "both attempts of the first step");
    const early: Chunk<{ n: string }>[] = [];
    const late: Chunk<{ n: string }>[] = [];
    const a = (async () => {
      for await (const c of kernel.subscribe<{ n: string }>(run.id, { pollMs: 60_000 })) early.push(c);
    })();
    const b = (async () => {
      for await (const c of kernel.subscribe<{ n: string }>(run.id, { from: 5, pollMs: 60_000 })) late.push(c);
    })();
    await until(() => early.length === 6 && late.length === 2, "what was stored");
    later.open();
    await Promise.all([a, b]);
    const stored = (await base.readStream(run.id, 1, 1_000)).chunks.map((c) => [
      c.pos,
      c.seq,
      c.attempt,
      JSON.parse(c.data).n,
    ]);
    assert.equal(stored.length, 86);
    assert.deepEqual(
      early.map((c) => [c.offset, c.seq, c.attempt, c.data.n]),
      stored,
    );
    assert.deepEqual(
      late.map((c) => [c.offset, c.seq, c.attempt, c.data.n]),
      stored.slice(4),
    );
  });

  test(`${backend.name}: a run handed from one worker to another mid-stream: a subscriber beside each receives what the store holds`, async (t) => {
    const { store } = await tempStore(t, backend);
    let tries = 0;
    const more = gate();
    const talk = workflow("talk", async (ctx) =>
      ctx.step(
        "speak",
        async ({ publish, signal }) => {
          const me = ++tries;
          for (let i = 0; i < 5; i++) publish({ w: `${me}.${i}` });
          if (me === 1)
            // Held until its worker gives the run up.
            await new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
          await more.promise;
          for (let i = 5; i < 10; i++) publish({ w: `${me}.${i}` });
          return me;
        },
        { retry: { maxAttempts: 3, initialInterval: 1 } },
      ),
    );
    const a = fakeKernel(t, store, [talk]);
    const run = await a.kernel.start(talk, null);
    const b = fakeKernel(t, store, [talk], { clock: a.clock });
    const got: Record<"a" | "b", Chunk<{ w: string }>[]> = { a: [], b: [] };
    const follow = (side: "a" | "b", k: typeof a.kernel) =>
      (async () => {
        for await (const c of k.subscribe<{ w: string }>(run.id, { pollMs: 20 })) got[side].push(c);
      })();
    const reading = [follow("a", a.kernel), follow("b", b.kernel)];
    await until(() => got.a.length === 5 && got.b.length === 5, "the first worker's chunks on both sides");
    await a.kernel.worker?.stop();
    await until(async () => {
      b.kernel.worker?.signal();
      await a.clock.advance(10);
      return tries === 2;
    }, "the second worker runs the step again");
    more.open();
    await Promise.all(reading);
    assert.equal(await b.kernel.result(run.id), 2);
    const stored = (await store.readStream(run.id, 1, 100)).chunks.map((c) => [
      c.pos,
      c.seq,
      c.attempt,
      JSON.parse(c.data).w,
    ]);
    assert.equal(stored.length, 15);
    for (const side of ["a", "b"] as const)
      assert.deepEqual(
        got[side].map((c) => [c.offset, c.seq, c.attempt, c.data.w]),
        stored,
        `the subscriber beside worker ${side}`,
      );
  });
}
