import assert from "node:assert/strict";
import { test } from "node:test";
import { workflow } from "../src/index.ts";
import { fakeKernel, gate, tempStore, until } from "../src/conformance/helpers.ts";
import { sqlite } from "./backends.ts";

/**
 * A step attempt's signal is a plain property of its context: a getter there (to make the
 * AbortController only when read) made every step slower than the controller itself costs (the object
 * literal with an accessor). The attempt ends at its abort (a timeout, the run's end) whether or not the
 * body looked, with no abort listener of the kernel's on the signal.
 */

test("a step's signal is a plain property of its context (so a spread context keeps it), live while the attempt runs", async (t) => {
  const { store } = await tempStore(t, sqlite);
  let seen: { plain: boolean; live: boolean; spread: boolean } | null = null;
  const wf = workflow("signal.plain", async (ctx) =>
    ctx.step("reads", (c) => {
      const d = Object.getOwnPropertyDescriptor(c, "signal");
      seen = {
        plain: d?.value instanceof AbortSignal && d.get === undefined,
        live: !c.signal.aborted,
        spread: { ...c }.signal === c.signal,
      };
      return 1;
    }),
  );
  const { kernel } = fakeKernel(t, store, [wf]);
  assert.equal(await (await kernel.start(wf, null)).result(), 1);
  assert.deepEqual(seen, { plain: true, live: true, spread: true });
});

test("a step that never reads its signal still ends at its timeout, and a signal read after that is aborted with the reason", async (t) => {
  const { store } = await tempStore(t, sqlite);
  const late = gate();
  let started = false;
  let seen: { aborted: boolean; reason: string } | null = null;
  const wf = workflow("signal.ignored", async (ctx) =>
    ctx.step(
      "slow",
      async (c) => {
        if (c.attempt === 2) return "second";
        started = true;
        await late.promise;
        seen = { aborted: c.signal.aborted, reason: String((c.signal.reason as Error | undefined)?.name) };
        return "too late";
      },
      { timeout: "5s", retry: { maxAttempts: 2, initialInterval: 0 } },
    ),
  );
  const { kernel, clock } = fakeKernel(t, store, [wf]);
  const run = await kernel.start(wf, null);
  await until(() => started, "attempt 1's body");
  await clock.advance(5_000);
  assert.equal(await run.result(), "second");
  late.open();
  await until(() => seen !== null, "attempt 1's body to look at its signal");
  assert.deepEqual(seen, { aborted: true, reason: "StepTimeoutError" });
  assert.match((await kernel.journal(run.id))[0]?.error?.message ?? "", /timed out after 5000 ms/);
});
