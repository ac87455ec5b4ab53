// One serverless invocation: a fresh process opens the store, drains for 1 s of wall time at test time
// `now`, prints what it did, and exits. The test calls it again and again until the run is done.
import { appendFileSync } from "node:fs";
import { FakeClock, Kernel, openSqliteStore, type Store, workflow } from "../../src/index.ts";
import { openPostgresStore } from "../../src/store/postgres/index.ts";

const [kind, where, schema, now, log] = process.argv.slice(2) as [string, string, string, string, string];
export const long = workflow("long", async (ctx, n: number) => {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (i === n / 2) await ctx.sleep("an-hour", "1h");
    sum += await ctx.step(
      `s${i}`,
      async ({ attempt }) => {
        appendFileSync(log, `${i} ${attempt}\n`);
        await new Promise((r) => setTimeout(r, 40));
        return i;
      },
      { retry: { maxAttempts: 10, initialInterval: 0 } },
    );
  }
  return sum;
});
const store: Store = kind === "sqlite" ? await openSqliteStore(where) : await openPostgresStore({ url: where, schema });
const kernel = new Kernel({ store, workflows: [long], clock: new FakeClock(Number(now)), onError: () => {} });
const report = await kernel.drain({ budgetMs: 1_000 });
await kernel.close();
await store.close();
process.stdout.write(`${JSON.stringify(report)}\n`);
