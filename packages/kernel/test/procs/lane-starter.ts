// A worker process for the lane-start crash test: it starts laned runs on its own worker when asked and
// says when a run's first step began; the test SIGKILLs it then. `held` is test/lane-start.test.ts's
// workflow, but its step never ends here.
import { Kernel, workflow } from "../../src/index.ts";
import { openStoreAt } from "./open-store.ts";

const [kind, where] = process.argv.slice(2) as ["sqlite" | "postgres", string];
const held = workflow(
  "held",
  async (ctx, n: number) => {
    await ctx.step("begin", () => {
      process.send?.({ began: n });
      return new Promise<never>(() => {});
    });
    return n;
  },
  { concurrency: { key: () => "session", limit: 1 } },
);
const store = await openStoreAt(kind, where);
const claimed = new Set<string>();
const claim = store.claim.bind(store);
store.claim = async (req) => {
  const runs = await claim(req);
  for (const r of runs) claimed.add(r.id);
  return runs;
};
const kernel = new Kernel({ store, workflows: [held], worker: { leaseMs: 1_000, pollMs: 50 }, logger: () => {} });
kernel.startWorker();
process.on("message", async (m: { start: number }) => {
  const h = await kernel.start(held, m.start, { key: `m${m.start}` });
  process.send?.({ started: h.id, worker: kernel.worker?.id, claimed: claimed.has(h.id) });
});
process.send?.("ready");
