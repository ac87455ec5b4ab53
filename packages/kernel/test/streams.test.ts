import assert from "node:assert/strict";
import { fork } from "node:child_process";
import { test } from "node:test";
import { runConformance } from "@agentd/kernel/conformance";
import { Kernel, workflow } from "../src/index.ts";
import { BACKENDS, pgUrl, postgres } from "./backends.ts";
import { closes } from "./helpers.ts";

for (const backend of BACKENDS) runConformance(backend, { only: ["streams"] });

test("postgres: a subscriber in one process receives the chunks a worker publishes in another, live", {
  skip: pgUrl ? false : "no Postgres reachable",
}, async (t) => {
  const { store, where } = await postgres.temp(t);
  const schema = where.split(" schema ")[1] as string;
  const child = fork(new URL("./procs/publisher.ts", import.meta.url).pathname, [pgUrl as string, schema], {
    stdio: "inherit",
  });
  t.after(() => child.kill("SIGKILL"));
  await new Promise((r) => child.once("message", r));
  const talker = workflow("talker", async () => 0);
  const client = closes(t, new Kernel({ store, workflows: [talker], worker: false }));
  const run = await client.start("talker", 200);
  const lags: number[] = [];
  const got: string[] = [];
  for await (const c of client.subscribe<{ token: string }>(run.id)) {
    got.push(c.data.token);
    const chunk = (await store.readStream(run.id, c.offset, 1)).chunks[0];
    if (chunk) lags.push(Date.now() - chunk.createdAt);
  }
  assert.deepEqual(
    got,
    Array.from({ length: 200 }, (_, i) => `t${i + 1}`),
  );
  assert.equal(await client.result(run.id), 200);
  lags.sort((a, b) => a - b);
  t.diagnostic(
    JSON.stringify({
      chunks: got.length,
      deliveryLagMsP50: lags[Math.floor(lags.length / 2)],
      deliveryLagMsP99: lags[Math.floor(lags.length * 0.99)],
    }),
  );
  child.send("stop");
});
