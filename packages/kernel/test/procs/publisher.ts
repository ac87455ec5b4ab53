// A worker process for the cross-process stream test: runs "talker", which publishes `count` chunks, one every few ms.
import { Kernel, workflow } from "../../src/index.ts";
import { openPostgresStore } from "../../src/store/postgres/index.ts";

const [url, schema] = process.argv.slice(2) as [string, string];
export const talker = workflow("talker", async (ctx, count: number) =>
  ctx.step("talk", async ({ publish }) => {
    for (let i = 1; i <= count; i++) {
      publish({ token: `t${i}` });
      await new Promise((r) => setTimeout(r, 3));
    }
    return count;
  }),
);
const store = await openPostgresStore({ url, schema });
const kernel = new Kernel({ store, workflows: [talker], worker: { pollMs: 50 } }).startWorker();
process.send?.("ready");
process.on("message", async (m) => {
  if (m === "stop") {
    await kernel.close();
    await store.close();
    process.exit(0);
  }
});
