import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { z } from "zod";
import type { Tool } from "../src/tools/types.ts";
import { createRedactor, RedactionError, redactSecrets } from "../src/vault/redact.ts";
import { MAX_SECRETS } from "../src/vault/vault.ts";
import { served } from "./support/api.ts";
import { testAgentd } from "./support/app.ts";
import { BACKENDS } from "./support/backends.ts";

const secretOf = (chars: number) => randomBytes(chars).toString("base64url").slice(0, chars);

describe("redaction at scale", () => {
  test("a 64 KB secret is redacted whole and in part, and an error could never quote it", () => {
    const big = secretOf(64 * 1024);
    let out: string;
    try {
      out = createRedactor([big, "short-one"]).text(`a ${big} b ${big.slice(20_000, 21_000)} c short-one d`);
    } catch (e) {
      assert.ok(!String((e as Error).message).includes(big.slice(0, 64)), "the error quotes the secret");
      throw e;
    }
    // A part of a long secret is found by its 32-character tiles: at most 31 characters at each edge of it remain.
    assert.match(out, /^a \[secret\] b [\w-]{0,31}\[secret\][\w-]{0,31} c \[secret\] d$/);
    const b64 = Buffer.from(`user:${big}`).toString("base64");
    assert.ok(
      !redactSecrets(b64, [big]).includes(Buffer.from(big).toString("base64").slice(100, 200)),
      "base64 inside a longer base64 text",
    );
  });

  test("a full vault (a thousand secrets, 1 MB in all) over a 1 MB text: linear, done in well under the time a request may take", () => {
    const values = [
      ...Array.from({ length: 90 }, () => secretOf(10_000)),
      ...Array.from({ length: MAX_SECRETS - 90 }, () => secretOf(40)),
    ];
    const started = performance.now();
    const r = createRedactor(values);
    const text = `${"a".repeat(500_000)}${values[42]}${"ab".repeat(250_000)}`;
    const out = r.text(text);
    assert.equal(out.length, 1_000_000 + "[secret]".length);
    assert.ok(out.includes("a[secret]ab"));
    // The same secret repeated end to end, and a text of one character repeated: no slow path.
    assert.equal(r.text(`${values[7]}${values[7]}`), "[secret]");
    const same = createRedactor(["a".repeat(5_000), `${"a".repeat(4_999)}b`]);
    assert.equal(same.text("a".repeat(200_000)), "[secret]");
    const ms = performance.now() - started;
    assert.ok(ms < 10_000, `took ${Math.round(ms)} ms`);
  });

  test("a vault's redactor is built once per set of values: a tool call with a full vault does not pay a second build", () => {
    const values = Array.from({ length: 50 }, () => secretOf(2_000));
    const first = createRedactor(values);
    assert.equal(createRedactor([...values]), first, "the same values: the redactor already built");
    const changed = createRedactor([...values.slice(1), "a-new-secret-value"]);
    assert.notEqual(changed, first, "other values: another redactor");
    assert.equal(changed.text("x a-new-secret-value y"), "x [secret] y");
    assert.equal(changed.text(`x ${values[0]} y`), `x ${values[0]} y`, "a value no longer in the vault is not its");
    assert.equal(first.text(`x ${values[0]} y`), "x [secret] y");
  });

  test("agrees with a plain search for every form on thousands of random texts; overlapping secrets leave nothing", () => {
    let seed = 11;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const word = (len: number) => Array.from({ length: len }, () => "abc"[rand(3)]).join("");
    for (let i = 0; i < 3_000; i++) {
      const values = [word(4 + rand(6)), word(4 + rand(30))];
      const text = Array.from({ length: 6 }, () => (rand(2) ? values[rand(2)] : word(rand(8)))).join("");
      // A slow but obvious reference: mark every occurrence of every value, then collapse marked runs.
      const marked = new Uint8Array(text.length);
      for (const v of values)
        for (let at = text.indexOf(v); at >= 0; at = text.indexOf(v, at + 1)) marked.fill(1, at, at + v.length);
      let want = "";
      for (let k = 0; k < text.length; k++) {
        if (!marked[k]) want += text[k];
        else if (k === 0 || !marked[k - 1]) want += "[secret]";
      }
      // Only the plain forms can occur in a text of a, b and c.
      assert.equal(redactSecrets(text, values), want, `${JSON.stringify(values)} in ${JSON.stringify(text)}`);
    }
    assert.equal(redactSecrets("xabcdefy", ["abcd", "cdef"]), "x[secret]y", "the tail of the second does not survive");
  });

  test("a stream redacts across the places text was cut: thousands of random splits give what redacting it whole gives", () => {
    let seed = 5;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const word = (len: number) => Array.from({ length: len }, () => "xyz-"[rand(4)]).join("");
    const one = (s: string) => s.replace(/(\[secret\])+/g, "[secret]");
    for (let i = 0; i < 3_000; i++) {
      const values = [word(4 + rand(10)), word(20 + rand(60))];
      const r = createRedactor(values);
      const text = Array.from({ length: 8 }, () => (rand(2) ? values[rand(2)] : word(rand(12)))).join(" ");
      const stream = r.stream();
      let shown = "";
      let pieces = 0;
      let pushed = 0;
      for (let at = 0; at < text.length; pushed++) {
        const n = 1 + rand(7);
        const out = stream.push(text.slice(at, at + n));
        shown += out.text;
        pieces += out.pieces;
        at += n;
      }
      const last = stream.flush();
      shown += last.text;
      pieces += last.pieces;
      assert.equal(one(shown), one(r.text(text)), `${JSON.stringify(values)} in ${JSON.stringify(text)}`);
      assert.equal(pieces, pushed, "every piece is let through once");
      for (const v of values) assert.ok(!shown.includes(v));
    }
  });

  test("an error inside redaction is a RedactionError that carries nothing of the text", () => {
    const secret = "sk-cyclic-0123456789";
    const cyclic: Record<string, unknown> = { note: secret };
    cyclic.self = cyclic;
    const e = (() => {
      try {
        createRedactor([secret]).deep(cyclic);
      } catch (err) {
        return err;
      }
      return null;
    })();
    assert.ok(e instanceof RedactionError);
    assert.ok(!String(e.message).includes(secret) && e.cause === undefined);
  });
});

const echo: Tool<{ n: number }> = {
  name: "echo_secret",
  description: "test tool",
  input: z.object({ n: z.number() }),
  risk: "low",
  defaultDecision: "allow",
  maxOutputChars: 100,
  run: async (a, ctx) => `${"x".repeat(a.n)}${await ctx.secrets.get("k")}`,
};

for (const b of BACKENDS) {
  describe(`redaction and the vault (${b.name})`, () => {
    test("a tenant with a 64 KB secret: run and journal views answer, the secret redacted; the vault is bounded", async (t) => {
      const s = await served(t, b);
      const big = secretOf(64 * 1024);
      assert.equal((await s.call("PUT", "/v1/secrets/big", { body: { value: big } })).status, 204);
      const posted = await s.call("POST", "/v1/messages", { body: { text: `part: ${big.slice(0, 5_000)}` } });
      await s.app.kernel.result(posted.body.runId);
      const journal = await s.call("GET", `/v1/runs/${posted.body.runId}/journal`);
      assert.equal(journal.status, 200, journal.text.slice(0, 200));
      assert.ok(!journal.text.includes(big.slice(0, 100)));
      assert.equal((await s.call("GET", "/v1/runs")).status, 200);
      // Bounded: the number of secrets and their total size.
      const over = await s.call("PUT", "/v1/secrets/more", { body: { value: secretOf(64 * 1024) } });
      assert.equal(over.status, 204);
      for (let i = 0; i < 13; i++)
        assert.equal((await s.call("PUT", `/v1/secrets/m${i}`, { body: { value: secretOf(64 * 1024) } })).status, 204);
      const tooBig = await s.call("PUT", "/v1/secrets/last", { body: { value: secretOf(64 * 1024) } });
      assert.equal(tooBig.status, 400);
      assert.match(tooBig.body.error.message, /over the limit of 1048576 \(1 MB\) for all of them/);
      for (let i = 0; i < 16; i++)
        await s.call("DELETE", `/v1/secrets/${i < 13 ? `m${i}` : i === 13 ? "more" : "big"}`);
      for (let i = 0; i < MAX_SECRETS; i++)
        await s.app.vault.put(s.app.tenants.scope(s.tenantId), `n${i}`, `value-${i}`);
      const many = await s.call("PUT", "/v1/secrets/one_more", { body: { value: "value-x" } });
      assert.equal(many.status, 400);
      assert.match(many.body.error.message, /holds 1000 secrets, the most it may/);
      assert.equal(
        (await s.call("PUT", "/v1/secrets/n5", { body: { value: "replaced" } })).status,
        204,
        "replacing one is not adding one",
      );
    });

    test("the live stream redacts a secret split across chunks, and resumes after exactly what it showed", async (t) => {
      const s = await served(t, b);
      const secret = "QZXJ-7731-KWPV-0098";
      assert.equal((await s.call("PUT", "/v1/secrets/pasted", { body: { value: secret } })).status, 204);
      s.model.script({ text: `Your key is ${secret}, keep it safe and never share ${secret} with anyone.` });
      const events = await s.stream("POST", "/v1/messages", { body: { text: "what is my key?" } });
      const texts = events.filter((e) => e.event === "text");
      const shown = texts.map((e) => e.data.d).join("");
      assert.equal(shown, "Your key is [secret], keep it safe and never share [secret] with anyone.");
      for (const e of texts)
        for (let i = 0; i + 4 <= secret.length; i++)
          assert.ok(!e.data.d.includes(secret.slice(i, i + 4)), `a frame shows part of the secret: ${e.data.d}`);
      // Resuming after a text frame gives the rest, no more and no less.
      const runId = events[0]!.data.runId as string;
      const cut = texts[Math.floor(texts.length / 2)]!;
      const rest = await s.stream("GET", `/v1/runs/${runId}/stream`, { headers: { "last-event-id": String(cut.id) } });
      const before = texts
        .slice(0, texts.indexOf(cut) + 1)
        .map((e) => e.data.d)
        .join("");
      assert.equal(
        before +
          rest
            .filter((e) => e.event === "text")
            .map((e) => e.data.d)
            .join(""),
        shown,
      );
    });

    test("a tool's output is redacted before it is cut: a secret straddling the cut leaves nothing", async (t) => {
      const { app, model, tenantId } = await testAgentd(t, b, { tools: [echo] });
      const secret = "sk-straddle-0123456789abcdef";
      await app.vault.put(app.tenants.scope(tenantId), "k", secret);
      model.script({ toolCalls: [{ name: "echo_secret", arguments: { n: 90 } }] }, { text: "ok" });
      const r = await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "go" });
      await app.kernel.result(r.runId);
      const sent = JSON.stringify(model.requests[1]!.body.messages);
      assert.ok(sent.includes("x".repeat(90)), "the tool's output reached the model");
      assert.ok(
        !sent.includes(secret.slice(0, 6)),
        `the head of the secret leaked: ${sent.slice(sent.indexOf("xxxx"), sent.indexOf("xxxx") + 140)}`,
      );
      assert.ok(!JSON.stringify(await app.kernel.journal(r.runId)).includes(secret.slice(0, 6)));
    });
  });
}
