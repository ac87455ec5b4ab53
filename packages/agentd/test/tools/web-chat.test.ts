/**
 * The web tools end to end from a chat message: a Telegram message (through the Bot API stand-in) and
 * a message to the HTTP API that `agentd chat` speaks, each answered after web_search (the SearXNG
 * stand-in) and the browser (Debian's Chromium on a site served on 127.0.0.1).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { serveApi } from "../../src/api/index.ts";
import { findChromium } from "../../src/tools/browser/index.ts";
import { BACKENDS } from "../support/backends.ts";
import { startSite } from "../support/browser-site.ts";
import { startBrave, startSearxng, startTavily } from "../support/search-servers.ts";
import { pairingTelegramRig, sentTo } from "../support/telegram-rig.ts";
import { textUpdate } from "../support/telegram-updates.ts";
import { until } from "../support/wait.ts";

const ALICE = { id: 501, is_bot: false, first_name: "Alice", username: "alice" };
const skip = findChromium() ? false : "no Chromium installed (apt-get install chromium); browser tests skip";

for (const b of BACKENDS) {
  describe(`web tools from a chat message (${b.name})`, { skip }, () => {
    test("Telegram and the HTTP API: the model searches, opens a result in the browser, and the person gets the answer", {
      timeout: 120_000,
    }, async (t) => {
      const [site, searxng, brave, tavily] = await Promise.all([
        startSite(),
        startSearxng(),
        startBrave("k"),
        startTavily("k"),
      ]);
      t.after(() => Promise.all([site.close(), searxng.close(), brave.close(), tavily.close()]));
      const { app, model, tg, post, pair, tenantId } = await pairingTelegramRig(t, b, {
        config: {
          net: { allowPrivate: false, allowHosts: [site.host] },
          search: { provider: "searxng", searxngUrl: searxng.url, cacheMs: 60_000 },
        },
      });
      await pair(ALICE);
      const ask = (query: string, reply: string) =>
        model.script(
          { toolCalls: [{ name: "web_search", arguments: { query } }] },
          { toolCalls: [{ name: "browser", arguments: { action: "open", url: `${site.url}/list` } }] },
          { toolCalls: [{ name: "browser", arguments: { action: "wait_for", text: "Tern" } }] },
          { text: reply },
        );

      ask("harbour boats", "The boats are Kestrel, Osprey and Tern.");
      assert.equal((await post(textUpdate(ALICE, "which boats does the harbour shop have?"))).status, 200);
      await until(
        () => sentTo(tg, ALICE.id).find((c) => c.params.text === "The boats are Kestrel, Osprey and Tern."),
        "the reply on Telegram",
        60_000,
      );
      assert.deepEqual(
        searxng.requests.map((r) => r.query.get("q")),
        ["harbour boats"],
      );
      const toolResults = model.requests.slice(1, 4).map((r) => String(r.body.messages.at(-1)?.content));
      assert.match(toolResults[0]!, /^<untrusted source="web_search">\nResults for "harbour boats" \(searxng\):/);
      assert.match(
        toolResults[2]!,
        /^<untrusted source="browser">\nPage: Boats \(3\) — .*\/list\n[\s\S]*listitem \[ref=e\d+\]: Tern/,
      );

      // The same from the HTTP API, as `agentd chat` sends it: the answer streams back.
      const server = await serveApi(app, { host: "127.0.0.1", port: 0 });
      t.after(() => server.close());
      const { key } = await app.tenants.createApiKey(tenantId);
      ask("harbour boats", "Kestrel, Osprey and Tern, again.");
      const res = await fetch(`${server.url}/v1/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, accept: "text/event-stream", "content-type": "application/json" },
        body: JSON.stringify({ text: "and the boats again?", conversation: "terminal" }),
      });
      assert.equal(res.status, 200);
      const sse = await res.text();
      assert.match(sse, /"name":"web_search"/);
      assert.match(sse, /"name":"browser"/);
      assert.match(sse, /Kestrel, Osprey and Tern, again\./);
      assert.equal(searxng.requests.length, 1, "the repeated question came from the tenant's search cache");
    });
  });
}
