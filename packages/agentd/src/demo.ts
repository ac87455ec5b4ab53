import { Kernel, type Store, workflow } from "@agentd/kernel";

/** The demo workflow `npm start` runs: steps in sequence and in parallel, a durable timer, an event, a child run. */
const summarize = workflow("demo.summarize", async (ctx, words: string[]) =>
  ctx.step("count", () => ({ words: words.length, letters: words.join("").length })),
);

const onboard = workflow("demo.onboard", async (ctx, input: { user: string }) => {
  const plan = await ctx.step("plan", () => [`greet ${input.user}`, "set up workspace", "schedule check-in"]);
  const [greeting, workspace] = await Promise.all([
    ctx.step("greet", () => `Hello, ${input.user}!`),
    ctx.step("workspace", ({ idempotencyKey }) => ({ id: idempotencyKey })),
  ]);
  await ctx.sleep("cool-down", "1s");
  const approval = await ctx.waitForEvent<{ by: string }>("approval", { timeout: "10s" });
  const stats = await ctx.invoke(summarize, plan);
  return { plan, greeting, workspace, approvedBy: approval?.by ?? null, stats, at: new Date(await ctx.now()).toISOString() };
});

/** Runs the demo on the given store and prints what happened, step by step. */
export async function runDemo(store: Store, where: string, print: (line: string) => void): Promise<void> {
  const kernel = new Kernel({ store, workflows: [onboard, summarize] }).startWorker();
  try {
    const t0 = performance.now();
    const run = await kernel.start(onboard, { user: "ada" });
    print(`started run ${run.id} of workflow "demo.onboard" (store: ${where})`);
    setTimeout(() => void kernel.sendEvent(run.id, "approval", { by: "operator" }, { eventId: "demo-approval" }), 300);
    const result = await run.result();
    print(`finished in ${Math.round(performance.now() - t0)} ms with ${JSON.stringify(result)}`);
    print("journal (every command, checkpointed; a restart would replay these instead of running them again):");
    for (const e of await kernel.journal(run.id)) {
      const took = e.updatedAt - e.startedAt;
      print(`  #${e.seq} ${e.kind.padEnd(6)} ${e.name.padEnd(10)} ${e.status} in ${took} ms${e.attempt > 1 ? ` after ${e.attempt} attempts` : ""} -> ${JSON.stringify(e.value)}`);
    }
    const all = await kernel.listRuns({ limit: 1000 });
    print(`${all.length} runs in ${where} so far (${all.filter((r) => r.status === "completed").length} completed)`);
  } finally {
    await kernel.close();
  }
}
