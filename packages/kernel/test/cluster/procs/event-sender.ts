/**
 * A client process of connection-loss.test.ts: a kernel with no worker on the test's schema that
 * sends an event to a run each time it is told to, and reports the answer or the error.
 *
 *   node event-sender.ts <url> <schema> <runId>
 *
 * Sends { type: "ready" }; on { type: "send" } answers { type: "sent", ok, result | error }; on
 * { type: "stop" } closes its store and exits 0.
 */
import { Kernel } from "../../../src/index.ts";
import { openPostgresStore } from "../../../src/store/postgres/index.ts";

const [url, schema, runId] = process.argv.slice(2);
if (!url || !schema || !runId || !process.send) {
  console.error("usage: node event-sender.ts <url> <schema> <runId> (spawned with an IPC channel)");
  process.exit(2);
}
const store = await openPostgresStore({ url, schema, poolSize: 2 });
const kernel = new Kernel({ store, worker: false });
let n = 0;
process.on("message", (m: { type?: string }) => {
  if (m?.type === "send")
    kernel.sendEvent(runId, "go", { n: ++n }, { eventId: `e-${n}` }).then(
      (result) => process.send?.({ type: "sent", ok: true, result }),
      (e: unknown) => process.send?.({ type: "sent", ok: false, error: String(e) }),
    );
  if (m?.type === "stop")
    void (async () => {
      await kernel.close();
      await store.close();
      process.exit(0);
    })();
});
process.on("disconnect", () => process.exit(3));
process.send({ type: "ready", pid: process.pid });
