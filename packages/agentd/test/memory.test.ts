import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MemoryStore } from "../src/memory/store.ts";
import { Tenants } from "../src/tenancy/tenants.ts";
import { memoryTools } from "../src/tools/memory/index.ts";
import type { Embedder, Tool, ToolContext } from "../src/tools/types.ts";
import { BACKENDS } from "./support/backends.ts";

/** A tiny embedder: one dimension per topic word family, so paraphrases land close without sharing a word. */
const TOPICS = [/dog|puppy|canine|pet/, /car|vehicle|automobile|drive/, /food|eat|meal|dinner|lunch/];
const fakeEmbedder: Embedder = {
  async embed(texts) {
    return texts.map((t) => TOPICS.map((re) => (re.test(t.toLowerCase()) ? 1 : 0.01)));
  },
};

async function setup(b: (typeof BACKENDS)[number], t: Parameters<(typeof BACKENDS)[number]["db"]>[0]) {
  const { db } = await b.db(t);
  const tenants = new Tenants(db);
  const a = tenants.scope((await tenants.create("a")).id);
  const c = tenants.scope((await tenants.create("c")).id);
  return { a, c, store: new MemoryStore() };
}

for (const b of BACKENDS) {
  describe(`memory (${b.name})`, () => {
    test("search ranks by text relevance, matches prefixes, and lists newest first", async (t) => {
      const { a, store } = await setup(b, t);
      await store.add(a, { content: "The user's sister is called Marta and lives in Lisbon" });
      const best = await store.add(a, {
        content: "Favourite coffee: flat white. Coffee with oat milk, never coffee after 4pm",
      });
      await store.add(a, { content: "Prefers tea in the evening; bought a coffee grinder for guests" });
      await store.add(a, { content: `  ${"x".repeat(10)}  `, source: "user" });
      const hits = await store.search(a, "coffee milk");
      assert.equal(hits.length, 2);
      assert.equal(hits[0]?.id, best.id);
      assert.equal(hits[0]?.score, 1);
      assert.ok((hits[1]?.score ?? 1) < 1);
      assert.deepEqual((await store.search(a, "meetings")).length, 0);
      await store.add(a, { content: "Weekly meetings on Monday" });
      assert.equal((await store.search(a, "meet")).length, 1, "a word matches as a prefix");
      const all = await store.list(a, { limit: 2 });
      assert.equal(all[0]?.content, "Weekly meetings on Monday");
      assert.equal(all[1]?.content, "x".repeat(10), "content is trimmed");
      const next = await store.list(a, { limit: 10, before: all[1]?.id });
      assert.deepEqual(
        next.map((e) => e.content.split(" ")[0]),
        ["Prefers", "Favourite", "The"],
      );
      assert.equal(await store.count(a), 5);
      await assert.rejects(store.add(a, { content: "   " }), /1 to 4000 characters/);
      await assert.rejects(store.add(a, { content: "y".repeat(4001) }), /1 to 4000 characters/);
    });

    test("queries that look like full-text syntax are plain words", async (t) => {
      const { a, store } = await setup(b, t);
      await store.add(a, { content: "foo and bar walk into a baz" });
      for (const q of [
        '"foo" OR (bar',
        "NEAR(foo bar",
        "foo* AND -bar",
        "'; DROP TABLE os_memories; --",
        "col:foo ^bar",
        "!!!",
        "",
        "a & | ! :* <->",
        '"',
        "ÆØÅ é 日本語",
      ]) {
        const hits = await store.search(a, q);
        assert.ok(Array.isArray(hits), q);
      }
      assert.equal((await store.search(a, '"foo" OR (bar')).length, 1);
      assert.equal(await store.count(a), 1);
    });

    test("tenants never see each other's memories", async (t) => {
      const { a, c, store } = await setup(b, t);
      const mine = await store.add(a, { content: "secret plan: surprise party for Ana", embedding: [1, 0, 0] });
      await store.add(c, { content: "party supplies list" });
      assert.equal((await store.search(c, "surprise party")).length, 1);
      assert.ok((await store.search(c, "surprise party", { embedding: [1, 0, 0] })).every((e) => e.id !== mine.id));
      assert.equal(await store.get(c, mine.id), null);
      assert.equal(await store.forget(c, mine.id), false);
      assert.equal((await store.list(c)).length, 1);
      assert.equal(await store.markDone(c, [mine.id], 1), 0);
      assert.equal((await store.get(a, mine.id))?.content, "secret plan: surprise party for Ana");
    });

    test("forget deletes an entry and its search index row", async (t) => {
      const { a, store } = await setup(b, t);
      const e = await store.add(a, { content: "parking spot is B12" });
      assert.equal(await store.forget(a, e.id), true);
      assert.equal(await store.forget(a, e.id), false);
      assert.equal(await store.get(a, e.id), null);
      assert.deepEqual(await store.search(a, "parking"), []);
    });

    test("due notes come up when their time is reached, until marked done", async (t) => {
      const { a, store } = await setup(b, t);
      const soon = await store.add(a, { content: "call the plumber", dueAt: 1_000 });
      const later = await store.add(a, { content: "renew passport", dueAt: 5_000 });
      await store.add(a, { content: "likes jazz" });
      assert.deepEqual(await store.due(a, 999), []);
      assert.deepEqual(
        (await store.due(a, 1_000)).map((e) => e.id),
        [soon.id],
      );
      assert.deepEqual(
        (await store.due(a, 9_000)).map((e) => e.id),
        [soon.id, later.id],
      );
      assert.equal(await store.markDone(a, [soon.id], 2_000), 1);
      assert.equal(await store.markDone(a, [soon.id], 3_000), 0, "done once");
      assert.deepEqual(
        (await store.due(a, 9_000)).map((e) => e.id),
        [later.id],
      );
      assert.equal((await store.get(a, soon.id))?.doneAt, 2_000);
      assert.equal(await store.markDone(a, [], 1), 0);
    });

    test("with a query embedding, a paraphrase is found and scores blend text and similarity", async (t) => {
      const { a, store } = await setup(b, t);
      const [dog, car, food] = await fakeEmbedder.embed(["dog", "car", "food"]);
      const pet = await store.add(a, { content: "Has a golden retriever named Rex", embedding: dog });
      await store.add(a, { content: "Drives a blue Volvo", embedding: car });
      const both = await store.add(a, { content: "Rex eats salmon for dinner", embedding: food });
      const q = "puppy";
      assert.deepEqual(await store.search(a, q), [], "no shared word: text search alone finds nothing");
      const [qv] = await fakeEmbedder.embed([q]);
      const hits = await store.search(a, q, { embedding: qv, limit: 1 });
      assert.equal(hits[0]?.id, pet.id);
      // "Rex" matches Rex's two entries by text; the embedding favours the dog over the dinner.
      const blended = await store.search(a, "Rex", { embedding: qv });
      assert.deepEqual(
        blended.slice(0, 2).map((e) => e.id),
        [pet.id, both.id],
      );
      assert.ok((blended[0]?.score ?? 0) > 0.9 && (blended[1]?.score ?? 1) < 0.6);
    });

    test("the memory tools remember, recall and forget through the tenant's scope", async (t) => {
      const { a, store } = await setup(b, t);
      const [remember, recall, forget] = memoryTools(store) as [Tool, Tool, Tool];
      const ctx = { tenant: a, services: { embedder: fakeEmbedder } } as unknown as ToolContext;
      const saved = (await remember.run(
        remember.input.parse({ content: "Allergic to peanuts", due: "2030-01-01T09:00:00+01:00" }),
        ctx,
      )) as { id: string; due: string };
      assert.equal(saved.due, "2030-01-01T08:00:00.000Z");
      const found = (await recall.run(recall.input.parse({ query: "peanuts?" }), ctx)) as {
        memories: { id: string; content: string }[];
      };
      assert.deepEqual(
        found.memories.map((m) => m.id),
        [saved.id],
      );
      assert.deepEqual(await forget.run({ id: saved.id }, ctx), { forgotten: true });
      assert.equal(await store.count(a), 0);
      assert.ok(!remember.input.safeParse({ content: "x", due: "tomorrow" }).success);
      const words = [remember, recall, forget]
        .map((x) => x.description)
        .join(" ")
        .split(/\s+/).length;
      assert.ok(words <= 25, `tool descriptions are sent on every call; ${words} words`);
    });
  });
}
