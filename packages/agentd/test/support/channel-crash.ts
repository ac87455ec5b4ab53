// The crash scenario every webhook channel shares: SIGKILL inside the webhook after the message is
// persisted and its turn started, before the 200; the provider delivers the same request again.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import type { Agentd } from "../../src/app.ts";
import { outbox } from "../../src/channels/outbox.ts";
import { splitText } from "../../src/channels/split-text.ts";
import type { ModelServer } from "./model-server.ts";
import { until } from "./wait.ts";

export interface ChannelCrashRig<M> {
  client: Agentd;
  model: ModelServer;
  tenantId: string;
  start(): Promise<ChildProcess>;
  exited(p: ChildProcess): Promise<NodeJS.Signals | null>;
  touch(marker: string): void;
  /** Posts the request as the provider does; 0 when the connection died. */
  post(message: M): Promise<number>;
  /** The texts the person got, in order. */
  got(): string[];
  userMessages(): Promise<{ content: string; attachments?: unknown[] }[]>;
}

/** The run of the only turn, finished with `text`, every part of its reply (split at `limit`) recorded under the provider's id. */
export async function finished(r: ChannelCrashRig<unknown>, text: string, limit: number): Promise<string> {
  const run = await until(async () => (await r.client.kernel.listRuns({}))[0], "the turn");
  assert.equal((await r.client.kernel.result<{ text: string }>(run.id)).text, text);
  const parts = splitText(text, limit).length;
  await until(async () => {
    const rows = await outbox.parts(r.client.tenants.scope(r.tenantId), `reply:${run.id}`);
    return rows.length === parts && rows.every((x) => x.externalId);
  }, "every part recorded as sent");
  return run.id;
}

/** The redelivery is acknowledged and starts no second turn; the person gets one reply. */
export async function killedAfterPersist<M>(
  r: ChannelCrashRig<M>,
  message: M,
  text: string,
  finished: (text: string) => Promise<unknown>,
): Promise<void> {
  r.model.script({ text: "One reply only." }, { text: "One reply only." });
  r.touch("kill-after-persist");
  const w1 = await r.start();
  assert.equal(await r.post(message), 0, "no answer: the process died inside the webhook");
  assert.equal(await r.exited(w1), "SIGKILL");
  assert.deepEqual(
    (await r.userMessages()).map((m) => m.content),
    [text],
    "persisted before the 200 that never came",
  );
  await r.start();
  assert.equal(await r.post(message), 200, "the redelivery is acknowledged");
  await finished("One reply only.");
  assert.equal(await r.post(message), 200);
  assert.equal((await r.client.kernel.listRuns({})).length, 1, "one turn for the message");
  assert.deepEqual(r.got(), ["One reply only."]);
  assert.equal((await r.userMessages()).length, 1);
}
