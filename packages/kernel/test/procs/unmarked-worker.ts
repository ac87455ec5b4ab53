// A worker process for the unmarked-step crash test: it starts a run on its own worker whose first step
// (unmarked, or marked as the control) never ends, says when its body began, and is SIGKILLed then.
// `probe` is test/unmarked-crash.test.ts's workflow, but its step never ends here.
import { Kernel, workflow } from "../../src/index.ts";
import { openStoreAt } from "./open-store.ts";

const [kind, where, marker] = process.argv.slice(2) as ["sqlite" | "postgres", string, "marked" | "unmarked"];
const probe = workflow(
  "probe",
  async (ctx, n: number) =>
    ctx.step(
      "read",
      () => {
        process.send?.({ began: n });
        return new Promise<never>(() => {});
      },
      { startMarker: marker === "marked" },
    ),
  { retry: { maxAttempts: 1 } },
);
const store = await openStoreAt(kind, where);
const kernel = new Kernel({ store, workflows: [probe], worker: { leaseMs: 1_000, pollMs: 50 }, logger: () => {} });
kernel.startWorker();
process.on("message", async (m: { start: number }) => {
  const h = await kernel.start(probe, m.start);
  process.send?.({ started: h.id });
});
process.send?.("ready");
