import assert from "node:assert/strict";
import { test } from "node:test";
import { workflow } from "../index.ts";
import type { Backend } from "./backend.ts";
import { fakeKernel, tempStore, until } from "./helpers.ts";

export function continueAsNew(backend: Backend): void {
  const iterations = backend.name === "sqlite" ? 10_000 : 1_000;

  test(`a daemon that continues as new runs ${iterations} iterations with a journal that stays bounded`, async (t) => {
    const { store } = await tempStore(t, backend);
    let ticks = 0;
    let maxJournal = 0;
    const daemon = workflow("daemon", async (ctx, state: { i: number; total: number }) => {
      const n = await ctx.step("tick", () => (ticks++, state.i));
      await ctx.sleep("rest", 0);
      if (state.i + 1 >= iterations) return { i: state.i, total: state.total + n };
      return ctx.continueAsNew({ i: state.i + 1, total: state.total + n });
    });
    const { kernel } = fakeKernel(t, store, [daemon]);
    const run = await kernel.start(daemon, { i: 0, total: 0 });
    const sample = setInterval(async () => {
      const j = await store.loadJournal(run.id).catch(() => []);
      maxJournal = Math.max(maxJournal, j.length);
    }, 20);
    t.after(() => clearInterval(sample));
    const out = (await kernel.result(run.id)) as { i: number; total: number };
    assert.deepEqual(out, { i: iterations - 1, total: (iterations * (iterations - 1)) / 2 });
    assert.equal(ticks, iterations, "every iteration's step ran once");
    const info = await kernel.getRun(run.id);
    assert.equal(info?.generation, iterations - 1);
    const journal = await kernel.journal(run.id);
    assert.deepEqual(
      journal.map((e) => e.name),
      ["tick", "rest"],
      "only the last iteration's commands are kept",
    );
    assert.ok(maxJournal <= 2, `the journal never held more than ${maxJournal} entries`);
  });

  test("continue-as-new keeps the run id, so events still reach it; events sent before are not lost", async (t) => {
    const { store } = await tempStore(t, backend);
    const inbox = workflow("inbox", async (ctx, seen: string[]) => {
      const msg = await ctx.waitForEvent<string>("msg");
      const next = [...seen, msg as string];
      return next.length === 3 ? next : ctx.continueAsNew(next);
    });
    const { kernel } = fakeKernel(t, store, [inbox]);
    const run = await kernel.start(inbox, [] as string[]);
    for (const m of ["a", "b", "c"]) await kernel.sendEvent(run.id, "msg", m);
    assert.deepEqual(await run.result(), ["a", "b", "c"]);
    await until(async () => (await kernel.getRun(run.id))?.generation === 2, "two continuations");
  });
}
