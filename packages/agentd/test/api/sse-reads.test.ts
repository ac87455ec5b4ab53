import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { served } from "../support/api.ts";
import { BACKENDS } from "../support/backends.ts";

for (const b of BACKENDS) {
  describe(`SSE: what a streamed message reads (${b.name})`, () => {
    test("beside the worker that runs its turn, a stream reads no heartbeats and is handed its tokens, not reading them", async (t) => {
      const s = await served(t, b);
      const store = s.app.store;
      const counts = { listWorkers: 0, readStream: 0 };
      const listWorkers = store.listWorkers.bind(store);
      const readStream = store.readStream.bind(store);
      store.listWorkers = () => {
        counts.listWorkers++;
        return listWorkers();
      };
      store.readStream = (...args) => {
        counts.readStream++;
        return readStream(...args);
      };
      s.model.script({ text: "Handed over from the hub, token by token.", tokenDelayMs: 15 });
      const events = await s.stream("POST", "/v1/messages", { body: { text: "stream please" } });
      const texts = events.filter((e) => e.event === "text");
      assert.ok(texts.length >= 5, `${texts.length} text events`);
      assert.equal(texts.map((e) => e.data.d).join(""), "Handed over from the hub, token by token.");
      assert.equal(events.at(-1)?.event, "done");
      const offsets = events.slice(1).map((e) => e.id as number);
      assert.deepEqual(
        offsets,
        offsets.map((_, i) => 1 + i),
        "ids are the stream's offsets from 1, consecutive",
      );
      assert.equal(counts.listWorkers, 0, "this process's worker runs the turn: no one else's heartbeat is read");
      assert.ok(counts.readStream <= 2, `${counts.readStream} reads of the stream for ${texts.length} tokens`);
    });
  });
}
