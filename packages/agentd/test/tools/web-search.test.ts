import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, test } from "node:test";
import { BlockedAddressError } from "../../src/net/errors.ts";
import type { NetPolicy, ToolContext } from "../../src/tools/types.ts";
import { SearchError, WebSearch, webSearchTool } from "../../src/tools/web-search/index.ts";
import { retryAfterMs } from "../../src/tools/web-search/http.ts";
import { plain } from "../../src/tools/web-search/text.ts";
import type { ProviderName, SearchConfig } from "../../src/tools/web-search/types.ts";
import { testAgentd } from "../support/app.ts";
import { BACKENDS } from "../support/backends.ts";
import { cleanEnv, MAIN, tempDir } from "../support/cli.ts";
import { braveError, type StandIn, startBrave, startSearxng, startTavily } from "../support/search-servers.ts";

const BRAVE_KEY = "BSA-operator-key-123";
const TAVILY_KEY = "tvly-operator-key-456";
const CLOSED: NetPolicy = { allowPrivate: false, allowHosts: [] };

async function standIns(t: { after(fn: () => unknown): void }) {
  const [searxng, brave, tavily] = await Promise.all([startSearxng(), startBrave(BRAVE_KEY), startTavily(TAVILY_KEY)]);
  t.after(() => Promise.all([searxng.close(), brave.close(), tavily.close()]));
  return { searxng, brave, tavily };
}

function config(
  s: { searxng: StandIn; brave: StandIn; tavily: StandIn },
  provider: ProviderName | null,
  cacheMs = 600_000,
): SearchConfig {
  return {
    provider,
    searxngUrl: s.searxng.url,
    braveApiKey: BRAVE_KEY,
    braveApiBase: s.brave.url,
    tavilyApiKey: TAVILY_KEY,
    tavilyApiBase: s.tavily.url,
    cacheMs,
  };
}

function call(opts: { tenantId?: string; now?: number; secrets?: Record<string, string>; net?: NetPolicy } = {}) {
  const secrets = opts.secrets ?? {};
  return {
    tenantId: opts.tenantId ?? "ten_a",
    now: opts.now ?? 1_000_000,
    net: opts.net ?? CLOSED,
    signal: new AbortController().signal,
    secrets: { get: async (n: string) => secrets[n] ?? null },
  };
}

const q = (query: string, count = 5) => ({ query, count });

describe("web_search providers against stand-ins of their APIs", () => {
  test("SearXNG, Brave and Tavily: each is asked in its documented shape, and results come back as plain title, URL, snippet, date", async (t) => {
    const s = await standIns(t);
    for (const p of ["searxng", "brave", "tavily"] as const) {
      const ws = new WebSearch(config(s, p));
      const a = await ws.search(call(), { query: "tide tables", count: 3, freshness: "week" });
      assert.equal(a.provider, p);
      assert.equal(a.cached, false);
      // The javascript: URL is dropped; tags and entities are gone; the date is kept where given.
      assert.deepEqual(
        a.results,
        [
          {
            title: "tide tables: the first result",
            url: "https://one.example/a",
            snippet: "All about tide tables.",
            date: "2026-11-30T08:00:00",
          },
          { title: "tide tables & more", url: "https://two.example/b", snippet: "It's tide tables again" },
          { title: "Third", url: "https://three.example/c", snippet: "" },
        ],
        p,
      );
    }
    const sx = s.searxng.requests[0]!;
    assert.equal(sx.path, "/search");
    assert.deepEqual(
      [sx.query.get("q"), sx.query.get("format"), sx.query.get("time_range")],
      ["tide tables", "json", "week"],
    );
    const br = s.brave.requests[0]!;
    assert.equal(br.headers["x-subscription-token"], BRAVE_KEY);
    assert.deepEqual([br.query.get("q"), br.query.get("count"), br.query.get("freshness")], ["tide tables", "3", "pw"]);
    const tv = s.tavily.requests[0]!;
    assert.equal(tv.headers.authorization, `Bearer ${TAVILY_KEY}`);
    assert.equal(tv.method, "POST");
    assert.deepEqual([tv.body.query, tv.body.max_results, tv.body.time_range], ["tide tables", 3, "week"]);
  });

  test("a 429 with a short Retry-After is waited out once; a long one is an error saying when to try again", async (t) => {
    const s = await standIns(t);
    const waits: number[] = [];
    const ws = new WebSearch(config(s, "tavily", 0), { sleep: async (ms) => void waits.push(ms) });
    s.tavily.next({ status: 429, headers: { "retry-after": "2" }, body: { detail: { error: "Too many requests" } } });
    const a = await ws.search(call(), q("retry"));
    assert.equal(a.results.length, 4, "five asked for, the javascript: one dropped");
    assert.deepEqual(waits, [2000]);
    assert.equal(s.tavily.requests.length, 2);

    s.tavily.next({ status: 429, headers: { "retry-after": "120" }, body: { detail: { error: "Too many requests" } } });
    const e = await ws.search(call(), q("slow down")).catch((x: unknown) => x);
    assert.ok(SearchError.is(e));
    assert.equal(e.code, "rate_limited");
    assert.equal(e.retryAfterMs, 120_000);
    assert.match(
      e.message,
      /the Tavily API is rate-limiting searches \(HTTP 429: Too many requests\); try again in 120 s/,
    );
    assert.equal(s.tavily.requests.length, 3, "no retry for a long wait");

    // Brave says when through X-RateLimit-Reset: the window that is used up (here the month's) counts.
    const wb = new WebSearch(config(s, "brave", 0), { sleep: async (ms) => void waits.push(ms) });
    s.brave.next({
      status: 429,
      headers: { "x-ratelimit-remaining": "3, 0", "x-ratelimit-reset": "1, 86400" },
      body: braveError(429, "RATE_LIMITED", "Request rate limit exceeded for plan."),
    });
    const eb = await wb.search(call(), q("month")).catch((x: unknown) => x);
    assert.ok(SearchError.is(eb) && eb.code === "rate_limited");
    assert.equal(eb.retryAfterMs, 86_400_000);
    assert.match(eb.message, /Request rate limit exceeded for plan\.\); try again in 86400 s/);
  });

  test("a refused key, a spent plan, a broken provider and SearXNG without JSON each say what to do, never echoing the key", async (t) => {
    const s = await standIns(t);
    const wrong = new WebSearch({ ...config(s, "brave", 0), braveApiKey: "BSA-wrong-key-999" });
    const e1 = await wrong.search(call(), q("x")).catch((x: unknown) => x);
    assert.ok(SearchError.is(e1) && e1.code === "unauthorized");
    assert.match(
      e1.message,
      /the Brave Search API refused the request \(HTTP 422: The provided subscription token is invalid\.\); check BRAVE_SEARCH_API_KEY/,
    );
    const badTavily = new WebSearch({ ...config(s, "tavily", 0), tavilyApiKey: "tvly-wrong" });
    const e2 = await badTavily.search(call(), q("x")).catch((x: unknown) => x);
    assert.ok(SearchError.is(e2) && e2.code === "unauthorized");
    assert.match(e2.message, /HTTP 401: Unauthorized: missing or invalid API key\.\); check TAVILY_API_KEY/);

    const ws = new WebSearch(config(s, "tavily", 0));
    s.tavily.next({
      status: 432,
      body: { detail: { error: `This request exceeds your plan's set usage limit (key ${TAVILY_KEY})` } },
    });
    const e3 = await ws.search(call(), q("x")).catch((x: unknown) => x);
    assert.ok(SearchError.is(e3) && e3.code === "quota");
    assert.doesNotMatch(e3.message, new RegExp(TAVILY_KEY), "a key the provider echoes is cut out");
    s.tavily.next({ status: 502, body: "<html>Bad gateway</html>" });
    const e4 = await ws.search(call(), q("x")).catch((x: unknown) => x);
    assert.ok(SearchError.is(e4) && e4.code === "unavailable");
    assert.match(e4.message, /the Tavily API failed \(HTTP 502: no reason given\); try again later/);
    s.tavily.next({ status: 200, body: "not json" });
    const e5 = await ws.search(call(), q("x")).catch((x: unknown) => x);
    assert.ok(SearchError.is(e5) && e5.code === "bad_response");

    const sx = new WebSearch(config(s, "searxng", 0));
    s.searxng.next({ status: 403, body: "<h1>Forbidden</h1>" });
    const e6 = await sx.search(call(), q("x")).catch((x: unknown) => x);
    assert.ok(SearchError.is(e6) && e6.code === "unauthorized");
    assert.match(
      e6.message,
      /the SearXNG instance refused the request \(HTTP 403: no reason given\); check SEARXNG_URL/,
    );

    const none = new WebSearch({ provider: null, cacheMs: 0 });
    const e7 = await none.search(call(), q("x")).catch((x: unknown) => x);
    assert.ok(SearchError.is(e7) && e7.code === "not_configured");
    assert.match(e7.message, /AGENTD_SEARCH_PROVIDER/);
  });

  test("the cache: a repeated question (or a retried step) costs no second query, per tenant, for its lifetime only; failures are not kept", async (t) => {
    const s = await standIns(t);
    const ws = new WebSearch(config(s, "brave", 60_000));
    const first = await ws.search(call({ now: 1000 }), q("Cache me"));
    const again = await ws.search(call({ now: 30_000 }), q("  cache   ME "));
    assert.equal(again.cached, true);
    assert.deepEqual(again.results, first.results);
    assert.equal(s.brave.requests.length, 1);
    await ws.search(call({ now: 30_000, tenantId: "ten_b" }), q("cache me"));
    assert.equal(s.brave.requests.length, 2, "another tenant asks for itself");
    await ws.search(call({ now: 30_000 }), q("cache me", 3));
    assert.equal(s.brave.requests.length, 3, "another count is another question");
    assert.equal((await ws.search(call({ now: 61_001 }), q("cache me"))).cached, false, "expired after its lifetime");
    assert.equal(s.brave.requests.length, 4);
    // Two asking at once share one query.
    await Promise.all([
      ws.search(call({ now: 70_000 }), q("together")),
      ws.search(call({ now: 70_000 }), q("together")),
    ]);
    assert.equal(s.brave.requests.length, 5);
    s.brave.next({ status: 500, body: braveError(500, "INTERNAL", "oops") });
    await assert.rejects(
      ws.search(call({ now: 80_000 }), q("fails once")),
      (e: unknown) => SearchError.is(e) && e.code === "unavailable",
    );
    assert.equal((await ws.search(call({ now: 80_001 }), q("fails once"))).cached, false, "the failure was not kept");
  });

  test("a tenant with its own provider searches with its own key from the vault; its own SearXNG URL goes through the SSRF guard", async (t) => {
    const s = await standIns(t);
    const chosen: Record<string, ProviderName> = { ten_own: "brave", ten_sx: "searxng", ten_nokey: "tavily" };
    const ws = new WebSearch(config(s, "tavily", 0), { tenantProvider: async (id) => chosen[id] ?? null });
    const mine = await ws.search(call({ tenantId: "ten_own", secrets: { BRAVE_SEARCH_API_KEY: BRAVE_KEY } }), q("own"));
    assert.equal(mine.provider, "brave");
    assert.equal(mine.source, "tenant");
    assert.equal(s.brave.requests.at(-1)?.headers["x-subscription-token"], BRAVE_KEY);
    const wrongKey = await ws
      .search(call({ tenantId: "ten_own", secrets: { BRAVE_SEARCH_API_KEY: "BSA-tenant-wrong" } }), q("own2"))
      .catch((x: unknown) => x);
    assert.ok(SearchError.is(wrongKey));
    assert.match(wrongKey.message, /check the tenant's vault secret BRAVE_SEARCH_API_KEY/);
    const noKey = await ws.search(call({ tenantId: "ten_nokey" }), q("x")).catch((x: unknown) => x);
    assert.ok(SearchError.is(noKey) && noKey.code === "not_configured");
    assert.match(noKey.message, /its vault has no TAVILY_API_KEY/);
    // A tenant's instance on a private address is refused like any URL a tenant gives...
    await assert.rejects(
      ws.search(call({ tenantId: "ten_sx", secrets: { SEARXNG_URL: s.searxng.url } }), q("x")),
      BlockedAddressError,
    );
    // ...unless the operator allows that host.
    const host = new URL(s.searxng.url).host;
    const ok = await ws.search(
      call({
        tenantId: "ten_sx",
        secrets: { SEARXNG_URL: s.searxng.url },
        net: { allowPrivate: false, allowHosts: [host] },
      }),
      q("x"),
    );
    assert.equal(ok.provider, "searxng");
    const others = await ws.search(call({ tenantId: "ten_other" }), q("x"));
    assert.equal(others.provider, "tavily");
    assert.equal(others.source, "operator");
  });

  test("Retry-After and X-RateLimit-Reset are read as the providers send them; provider text becomes bounded plain text", () => {
    const now = Date.parse("2026-12-06T12:00:00Z");
    assert.equal(retryAfterMs({ "retry-after": "7" }, now), 7000);
    assert.equal(retryAfterMs({ "retry-after": "Sun, 06 Dec 2026 12:00:30 GMT" }, now), 30_000);
    assert.equal(retryAfterMs({ "retry-after": "Sun, 06 Dec 2026 11:00:00 GMT" }, now), 0);
    assert.equal(retryAfterMs({ "x-ratelimit-reset": "1, 500", "x-ratelimit-remaining": "0, 10" }, now), 1000);
    assert.equal(retryAfterMs({ "x-ratelimit-reset": "1, 500", "x-ratelimit-remaining": "4, 0" }, now), 500_000);
    assert.equal(retryAfterMs({ "x-ratelimit-reset": "soon" }, now), null);
    assert.equal(retryAfterMs({}, now), null);
    assert.equal(plain("<b>a</b> &lt;b&gt; &#233;&#x1F600; &bogus; \n  b", 100), "a <b> é😀 &bogus; b");
    assert.equal(plain("x".repeat(500), 10), `${"x".repeat(9)}…`);
    assert.equal(plain(42, 10), "");
    // Linear on hostile input: many unclosed tags and entities.
    const hostile = "<a".repeat(100_000) + "&#".repeat(100_000);
    const t0 = performance.now();
    plain(hostile, 1_000_000);
    assert.ok(performance.now() - t0 < 1000);
  });

  test("the tool: default five results as numbered lines, arguments checked, untrusted, allowed by default", async (t) => {
    const s = await standIns(t);
    const tool = webSearchTool(new WebSearch(config(s, "searxng", 0)));
    assert.equal(tool.untrusted, true);
    assert.equal(tool.defaultDecision, "allow");
    assert.equal(tool.input.safeParse({ query: "" }).success, false);
    assert.equal(tool.input.safeParse({ query: "x", count: 11 }).success, false);
    const ctx = {
      tenant: { tenantId: "ten_a" },
      secrets: { get: async () => null },
      services: { net: CLOSED },
      signal: new AbortController().signal,
      now: 1,
    } as unknown as ToolContext;
    const out = String(await tool.run({ query: "harbour" }, ctx));
    assert.equal(out.split("\n")[0], 'Results for "harbour" (searxng):');
    assert.match(
      out,
      /^1\. harbour: the first result \(2026-11-30T08:00:00\)\n {3}https:\/\/one\.example\/a\n {3}All about harbour\.$/m,
    );
    assert.match(out, /^5\. Sixth$/m, "five results (the javascript: one skipped)");
    assert.doesNotMatch(out, /Seventh|javascript/);
  });
});

for (const b of BACKENDS) {
  describe(`web_search in a turn (${b.name})`, () => {
    test("the model searches; the results reach it fenced as untrusted, and a tenant's own key is used and never shown", async (t) => {
      const s = await standIns(t);
      const { app, model, tenantId } = await testAgentd(t, b, { config: { search: config(s, "searxng") } });
      model.script(
        { toolCalls: [{ name: "web_search", arguments: { query: "ferry times" } }] },
        { text: "The ferry leaves at nine." },
      );
      const r = await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "when is the ferry?" });
      assert.equal((await app.kernel.result<{ text: string }>(r.runId)).text, "The ferry leaves at nine.");
      const toolMessage = JSON.stringify(model.requests[1]!.body.messages.at(-1));
      assert.match(toolMessage, /<untrusted source=\\"web_search\\">\\nResults for \\"ferry times\\" \(searxng\)/);
      assert.equal(s.searxng.requests.length, 1);

      // The tenant switches to its own Brave key.
      const own = await app.tenants.create("own", { searchProvider: "brave" });
      await app.vault.put(app.tenants.scope(own.id), "BRAVE_SEARCH_API_KEY", "BSA-wrong-tenant-key");
      model.script(
        { toolCalls: [{ name: "web_search", arguments: { query: "ferry" } }] },
        { text: "Could not search." },
      );
      const r2 = await app.inbox.receive({ tenantId: own.id, channel: "http", conversation: "c", text: "ferry?" });
      await app.kernel.result(r2.runId);
      assert.equal(s.brave.requests.at(-1)?.headers["x-subscription-token"], "BSA-wrong-tenant-key");
      const errorMessage = JSON.stringify(model.requests.at(-1)!.body.messages.at(-1));
      assert.match(errorMessage, /error: the Brave Search API refused the request \(HTTP 422/);
      assert.doesNotMatch(errorMessage, /BSA-wrong-tenant-key/);
    });
  });
}

test("agentd doctor runs a test search against the configured provider, and says what to fix when it fails", async (t) => {
  const s = await standIns(t);
  const doctor = (env: Record<string, string>) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [MAIN, "doctor", "--data", tempDir(t)], { env: cleanEnv(env) });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.on("exit", (code) => resolve({ code, out }));
    });
  const base = { BRAVE_SEARCH_API_BASE: s.brave.url };
  assert.match(
    (await doctor({ ...base, BRAVE_SEARCH_API_KEY: BRAVE_KEY })).out,
    /^ok\s+web search\s+brave at http:\/\/127\.0\.0\.1:\d+: a test search returned 3 result\(s\)$/m,
  );
  const bad = await doctor({ ...base, BRAVE_SEARCH_API_KEY: "BSA-nope-000" });
  assert.match(
    bad.out,
    /^FAIL\s+web search\s+the Brave Search API refused the request \(HTTP 422: The provided subscription token is invalid\.\); check BRAVE_SEARCH_API_KEY$/m,
  );
  assert.doesNotMatch(bad.out, /BSA-nope-000/);
  assert.equal(bad.code, 1);
  assert.match((await doctor({})).out, /^ok\s+web search\s+no provider set/m);
  const named = await doctor({ AGENTD_SEARCH_PROVIDER: "tavily" });
  assert.match(named.out, /^FAIL\s+settings\s+AGENTD_SEARCH_PROVIDER is tavily but TAVILY_API_KEY is not set/m);
});
