/**
 * Web tools benchmark: the browser (Debian's Chromium driven by the browser tools) and web_search. One
 * JSON object per line on stdout, progress on stderr.
 *
 *     node bench/web.ts [--quick] [--only browser,search]
 *
 * The browser browses the test site (packages/agentd/test/support/browser-site.ts) and a typical page
 * made here (navigation, an article, a form, a footer: ~8 KB of HTML), served on 127.0.0.1 in this
 * process and allowed by the network policy as an operator would allow a host.
 *
 *  - browser_cold_first_action: a new worker's first `open` (Chromium launched over the pipe, a tenant
 *    context with its guard proxy, the page loaded, the snapshot taken), ms.
 *  - browser_warm_action: `snapshot` and `open` on a warm context, p50/p99 ms.
 *  - snapshot_bytes: the typical page's snapshot as the model gets it (cut at 12 KB), all of it, and
 *    interactive-only.
 *  - browser_memory: PSS and RSS of Chromium's processes with no context, then per tenant context with
 *    one page open (the slope), and the most tenants with an open context before the browser reaches
 *    1 GB (PSS; measured up to --max-tenants, extrapolated beyond).
 *  - search_overhead: web_search's own time (the guard, the request, parsing, the cache) against each
 *    provider's stand-in answering at once, p50/p99 ms; and a cached answer.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { BrowserManager, browserTools, findChromium } from "../packages/agentd/src/tools/browser/index.ts";
import type { SavedBrowser } from "../packages/agentd/src/tools/browser/state.ts";
import type { Tool, ToolContext } from "../packages/agentd/src/tools/types.ts";
import { WebSearch } from "../packages/agentd/src/tools/web-search/index.ts";
import type { ProviderName } from "../packages/agentd/src/tools/web-search/types.ts";
import { startSite } from "../packages/agentd/test/support/browser-site.ts";
import { startBrave, startSearxng, startTavily } from "../packages/agentd/test/support/search-servers.ts";

const { values: argv } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string", default: "browser,search" },
    "max-tenants": { type: "string", default: "" },
    help: { type: "boolean", short: "h" },
  },
});
if (argv.help) {
  process.stderr.write("usage: node bench/web.ts [--quick] [--only browser,search] [--max-tenants N]\n");
  process.exit(0);
}
const only = new Set(argv.only.split(","));
const QUICK = argv.quick;
const MAX_TENANTS = Number(argv["max-tenants"] || (QUICK ? 4 : 24));
const GB = 1024 ** 3;

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const pct = (xs: number[], p: number) =>
  round([...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil(p * xs.length) - 1)] ?? Number.NaN);
const emit = (metric: string, fields: Record<string, unknown>) =>
  console.log(JSON.stringify({ bench: "web", metric, ...fields }));
const progress = (s: string) => process.stderr.write(`[web] ${s}\n`);
let failed = false;

/** A page like many: a header with navigation, an article, a sidebar of links, a search form, a footer. */
function typicalPage(): string {
  const nav = Array.from({ length: 25 }, (_, i) => `<li><a href="/section/${i}">Section ${i}</a></li>`).join("");
  const paras = Array.from(
    { length: 14 },
    (_, i) =>
      `<p>Paragraph ${i} of the article: the harbour publishes its tide tables every Monday, and skippers read them before the spring tides; this sentence is here to make the paragraph as long as a real one usually is.</p>`,
  ).join("");
  const side = Array.from(
    { length: 30 },
    (_, i) => `<li><a href="/story/${i}">Related story number ${i} with a headline</a> <span>2 h ago</span></li>`,
  ).join("");
  const foot = Array.from({ length: 20 }, (_, i) => `<a href="/about/${i}">Footer link ${i}</a>`).join(" | ");
  return `<!doctype html><html><head><title>Tide tables | Harbour News</title></head><body>
<header><a href="/">Harbour News</a><nav><ul>${nav}</ul></nav><form role="search"><input type="search" aria-label="Search" name="q"><button>Search</button></form></header>
<main><article><h1>Tide tables for the spring</h1><p><time>6 December 2026</time> by <a href="/staff/ada">Ada</a></p>${paras}
<h2>Subscribe</h2><form><label>Email <input type="email" name="email"></label><label><input type="checkbox" name="daily"> Daily</label><button>Subscribe</button></form></article>
<aside><h2>Related</h2><ul>${side}</ul></aside></main><footer>${foot}</footer></body></html>`;
}

/** PSS and RSS (bytes) of every descendant process of this one whose command is Chromium. */
function chromiumMemory(exe: string): { pss: number; rss: number; processes: number } {
  const parent = new Map<number, number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone
    }
  }
  const mine = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === process.pid) return true;
    return false;
  };
  let pss = 0;
  let rss = 0;
  let processes = 0;
  for (const pid of parent.keys()) {
    if (!mine(pid)) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!cmd.includes("chrom")) continue;
      const roll = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
      pss += Number(/^Pss:\s+(\d+)/m.exec(roll)?.[1] ?? 0) * 1024;
      rss += Number(/^Rss:\s+(\d+)/m.exec(roll)?.[1] ?? 0) * 1024;
      processes++;
    } catch {
      // gone
    }
  }
  void exe;
  return { pss, rss, processes };
}

async function browserBench(chromium: string): Promise<void> {
  const site = await startSite();
  const typical = createServer((_req, res) =>
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(typicalPage()),
  );
  await new Promise<void>((ok) => typical.listen(0, "127.0.0.1", ok));
  const typicalHost = `127.0.0.1:${(typical.address() as AddressInfo).port}`;
  const saved = new Map<string, SavedBrowser>();
  const state = {
    load: async (id: string) => saved.get(id) ?? null,
    save: async (id: string, s: SavedBrowser) => void saved.set(id, s),
  };
  const make = (maxContexts = 8) =>
    new BrowserManager({
      executablePath: chromium,
      net: { allowPrivate: false, allowHosts: [site.host, typicalHost] },
      state,
      limits: { maxContexts, idleMs: 600_000 },
    });
  const blobs = {
    put: async () => ({ id: "blob_x", kind: "document" as const, mime: "x", size: 0 }),
    get: async () => null,
  };
  const toolsOf = (m: BrowserManager) => browserTools({ manager: m, blobs }) as [Tool, Tool];
  const ctx = (tenantId: string) =>
    ({ tenant: { tenantId }, signal: new AbortController().signal }) as unknown as ToolContext;
  const run = async (tool: Tool, tenant: string, args: object) =>
    String(await tool.run(tool.input.parse(args), ctx(tenant)));

  try {
    // Cold: a new worker's first action.
    const cold: number[] = [];
    for (let i = 0; i < (QUICK ? 1 : 3); i++) {
      const m = make();
      const [browser] = toolsOf(m);
      const t0 = performance.now();
      await run(browser, `ten_cold${i}`, { action: "open", url: `${site.url}/` });
      cold.push(performance.now() - t0);
      await m.close();
    }
    emit("browser_cold_first_action", {
      ms: round(Math.min(...cold)),
      max_ms: round(Math.max(...cold)),
      runs: cold.length,
    });
    progress(`cold first action ${round(Math.min(...cold))} ms`);

    // Warm: one context, actions repeated.
    const m = make(MAX_TENANTS + 2);
    const [browser] = toolsOf(m);
    await run(browser, "ten_warm", { action: "open", url: `${site.url}/` });
    const snaps: number[] = [];
    for (let i = 0; i < (QUICK ? 10 : 100); i++) {
      const t0 = performance.now();
      await run(browser, "ten_warm", { action: "snapshot" });
      snaps.push(performance.now() - t0);
    }
    const opens: number[] = [];
    for (let i = 0; i < (QUICK ? 10 : 60); i++) {
      const t0 = performance.now();
      await run(browser, "ten_warm", { action: "open", url: `${site.url}/${i % 2 ? "form" : "login"}` });
      opens.push(performance.now() - t0);
    }
    emit("browser_warm_action", {
      action: "snapshot",
      p50_ms: pct(snaps, 0.5),
      p99_ms: pct(snaps, 0.99),
      n: snaps.length,
    });
    emit("browser_warm_action", { action: "open", p50_ms: pct(opens, 0.5), p99_ms: pct(opens, 0.99), n: opens.length });
    progress(`warm snapshot p50 ${pct(snaps, 0.5)} ms, open p50 ${pct(opens, 0.5)} ms`);

    // Snapshot bytes of a typical page.
    const page = await run(browser, "ten_warm", { action: "open", url: `http://${typicalHost}/` });
    const inter = await run(browser, "ten_warm", { action: "snapshot", interactive: true });
    const raw = await m.use("ten_warm", async (s) => (await s.page()).ariaSnapshot({ mode: "ai" }));
    emit("snapshot_bytes", {
      page_html_bytes: Buffer.byteLength(typicalPage()),
      snapshot_bytes: Buffer.byteLength(raw),
      sent_bytes: Buffer.byteLength(page),
      interactive_only_bytes: Buffer.byteLength(inter),
      cut_at: 12_000,
    });
    progress(
      `typical page: snapshot ${Buffer.byteLength(raw)} bytes, sent ${Buffer.byteLength(page)}, interactive-only ${Buffer.byteLength(inter)}`,
    );

    // Memory: contexts opened one by one, each with one page.
    await m.close();
    const mm = make(MAX_TENANTS + 2);
    const [b2] = toolsOf(mm);
    await run(b2, "ten_m0", { action: "open", url: `http://${typicalHost}/` });
    await new Promise((r) => setTimeout(r, 500));
    const first = chromiumMemory(chromium);
    const points: { tenants: number; pss: number; rss: number }[] = [{ tenants: 1, pss: first.pss, rss: first.rss }];
    let reached: number | null = null;
    for (let n = 2; n <= MAX_TENANTS; n++) {
      await run(b2, `ten_m${n - 1}`, { action: "open", url: `http://${typicalHost}/` });
      const mem = chromiumMemory(chromium);
      points.push({ tenants: n, pss: mem.pss, rss: mem.rss });
      if (mem.pss >= GB && reached === null) {
        reached = n - 1;
        break;
      }
    }
    const last = points.at(-1)!;
    const perPss = (last.pss - first.pss) / Math.max(1, last.tenants - 1);
    const perRss = (last.rss - first.rss) / Math.max(1, last.tenants - 1);
    const baseline = first.pss - perPss;
    emit("browser_memory", {
      processes_with_one_context: first.processes,
      pss_one_context_mb: round(first.pss / 2 ** 20),
      pss_per_context_mb: round(perPss / 2 ** 20),
      rss_per_context_mb: round(perRss / 2 ** 20),
      pss_at_max_mb: round(last.pss / 2 ** 20),
      tenants_measured: last.tenants,
      tenants_before_1gb: reached ?? Math.floor((GB - baseline) / perPss),
      measured: reached !== null,
    });
    progress(
      `memory: ${round(perPss / 2 ** 20)} MB PSS per context; ${reached ?? Math.floor((GB - baseline) / perPss)} tenants before 1 GB${reached === null ? " (extrapolated)" : ""}`,
    );
    await mm.close();
  } finally {
    await site.close();
    await new Promise((ok) => typical.close(() => ok(null)));
  }
}

async function searchBench(): Promise<void> {
  const [searxng, brave, tavily] = await Promise.all([
    startSearxng(),
    startBrave("BSA-bench"),
    startTavily("tvly-bench"),
  ]);
  try {
    const config = (provider: ProviderName, cacheMs = 0) => ({
      provider,
      searxngUrl: searxng.url,
      braveApiKey: "BSA-bench",
      braveApiBase: brave.url,
      tavilyApiKey: "tvly-bench",
      tavilyApiBase: tavily.url,
      cacheMs,
    });
    const call = (i: number) => ({
      tenantId: "ten_bench",
      secrets: { get: async () => null },
      net: { allowPrivate: false, allowHosts: [] },
      signal: new AbortController().signal,
      now: i,
    });
    const n = QUICK ? 30 : 300;
    for (const p of ["searxng", "brave", "tavily"] as const) {
      const ws = new WebSearch(config(p));
      for (let i = 0; i < 10; i++) await ws.search(call(i), { query: `warm ${i}`, count: 5 });
      const xs: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await ws.search(call(i), { query: `question ${i}`, count: 5 });
        xs.push(performance.now() - t0);
      }
      emit("search_overhead", {
        provider: p,
        p50_ms: pct(xs, 0.5),
        p99_ms: pct(xs, 0.99),
        n,
        note: "stand-in answers at once: this is web_search's own time",
      });
      progress(`search ${p}: p50 ${pct(xs, 0.5)} ms`);
    }
    const cached = new WebSearch(config("brave", 600_000));
    await cached.search(call(0), { query: "same", count: 5 });
    const hits: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await cached.search(call(1), { query: "same", count: 5 });
      hits.push(performance.now() - t0);
    }
    emit("search_cached", { p50_ms: pct(hits, 0.5), p99_ms: round(pct(hits, 0.99), 3), n });
  } finally {
    await Promise.all([searxng.close(), brave.close(), tavily.close()]);
  }
}

emit("meta", {
  node: process.version,
  quick: QUICK,
  loadavg: (await import("node:os")).loadavg().map((x) => round(x, 2)),
  cpus: (await import("node:os")).cpus().length,
});
if (only.has("search"))
  await searchBench().catch(
    (e: unknown) => ((failed = true), emit("error", { section: "search", message: String(e) })),
  );
if (only.has("browser")) {
  const chromium = findChromium(process.env.AGENTD_CHROMIUM);
  if (!chromium) emit("skipped", { section: "browser", why: "no Chromium installed (apt-get install chromium)" });
  else
    await browserBench(chromium).catch(
      (e: unknown) => (
        (failed = true), emit("error", { section: "browser", message: String((e as Error).stack ?? e) })
      ),
    );
}
emit("done", { loadavg: (await import("node:os")).loadavg().map((x) => round(x, 2)) });
process.exit(failed ? 1 : 0);
