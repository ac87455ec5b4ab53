/**
 * The dashboard's figures: each view's first load (page, script and stylesheet bytes, its server
 * time), and the server time of the runs list with 100,000 runs of the tenant (plus as many of another tenant, interleaved), through
 * the API (GET /v1/runs) and as the whole page (GET /runs, rendered), first page and deep pages by
 * cursor, filtered by status, workflow and key. In process (app.request): server time, no network.
 * One JSON object per line on stdout, progress on stderr.
 *
 *     node bench/dashboard.ts [--store sqlite|postgres] [--runs 100000] [--samples 50]
 *
 * The runs are bulk-inserted into the kernel's table (generate_series on Postgres, one transaction
 * of prepared inserts on SQLite), not executed: what is measured is reading them. Target: < 50 ms.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { parseArgs } from "node:util";
import pg from "pg";
import { createServer } from "../packages/agentd/src/api/serve.ts";
import { createAgentd } from "../packages/agentd/src/app.ts";

const { values: argv } = parseArgs({
  options: {
    store: { type: "string", default: "sqlite" },
    runs: { type: "string", default: "100000" },
    samples: { type: "string", default: "50" },
  },
});
const KIND = argv.store === "postgres" ? "postgres" : "sqlite";
const RUNS = Number(argv.runs);
const SAMPLES = Number(argv.samples);
const PG_URL = process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/test";
const ADMIN = "bench-admin-token";
const T0 = Date.UTC(2026, 10, 1);
const emit = (metric: string, fields: Record<string, unknown>) =>
  console.log(JSON.stringify({ bench: "dashboard", store: KIND, metric, ...fields }));
const progress = (s: string) => process.stderr.write(`[dashboard] ${s}\n`);
const round = (x: number) => Math.round(x * 100) / 100;
const pct = (xs: number[], p: number) =>
  round([...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil(p * xs.length) - 1)] ?? NaN);

const dataDir = mkdtempSync(join(tmpdir(), "agentd-bench-dash-"));
const pgSchema = KIND === "postgres" ? `bench_dash_${randomBytes(6).toString("hex")}` : undefined;
const app = await createAgentd({
  env: {},
  config: { dataDir, adminToken: ADMIN, model: { id: "none" }, ...(pgSchema ? { databaseUrl: PG_URL, pgSchema } : {}) },
  logger: () => {},
});
try {
  const tenant = await app.tenants.create("bench", {});
  const other = await app.tenants.create("other", {});
  const { key } = await app.tenants.createApiKey(tenant.id);
  const STATUS = (g: number) => (g % 50 === 1 ? "failed" : g % 97 === 0 ? "suspended" : "completed");
  const id = (g: number) => `0190${g.toString(16).padStart(8, "0")}-0000-7000-8000-${g.toString(16).padStart(12, "0")}`;
  // Two tenants' runs interleaved, a second apart: the tenant's filter and the time order both matter.
  const total = RUNS * 2;
  const started = performance.now();
  if (KIND === "sqlite") {
    const db = new DatabaseSync(join(dataDir, "agentd.db"));
    db.exec("PRAGMA busy_timeout = 60000");
    const ins = db.prepare(
      `INSERT INTO runs (id, namespace, workflow, key, status, input, output, epoch, created_at, updated_at, completed_at, version)
       VALUES (?, ?, ?, ?, ?, '{"n":1}', '{"text":"ok"}', 1, ?, ?, ?, '1')`,
    );
    db.exec("BEGIN IMMEDIATE");
    for (let g = 1; g <= total; g++) {
      const t = T0 + g * 1000;
      ins.run(
        id(g),
        g % 2 ? tenant.id : other.id,
        g % 10 === 1 ? "agent.reminder" : "agent.turn",
        `k${g}`,
        STATUS(g),
        t,
        t,
        t,
      );
    }
    db.exec("COMMIT");
    db.close();
  } else {
    const c = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${pgSchema}` });
    await c.connect();
    await c.query(
      `INSERT INTO runs (id, namespace, workflow, key, status, input, output, epoch, created_at, updated_at, completed_at, version)
       SELECT '0190' || lpad(to_hex(g), 8, '0') || '-0000-7000-8000-' || lpad(to_hex(g), 12, '0'),
         CASE WHEN g % 2 = 1 THEN $1 ELSE $2 END, CASE WHEN g % 10 = 1 THEN 'agent.reminder' ELSE 'agent.turn' END, 'k' || g,
         CASE WHEN g % 50 = 1 THEN 'failed' WHEN g % 97 = 0 THEN 'suspended' ELSE 'completed' END,
         '{"n":1}', '{"text":"ok"}', 1, $3::bigint + g * 1000, $3::bigint + g * 1000, $3::bigint + g * 1000, '1'
       FROM generate_series(1, $4::bigint) g`,
      [tenant.id, other.id, T0, total],
    );
    await c.query("ANALYZE runs");
    await c.end();
  }
  progress(`${total} runs inserted in ${Math.round(performance.now() - started)} ms`);

  const server = createServer(app);
  const login = await server.request("http://bench/login", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://bench", host: "bench" },
    body: new URLSearchParams({ token: key, next: "/runs" }),
  });
  const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] as string;
  if (!cookie.startsWith("agentd_session=")) throw new Error(`sign-in failed: ${login.status}`);
  // The operator's session too: every tenant's runs in one list (GET /v1/admin/runs, /runs?all=1).
  const adminLogin = await server.request("http://bench/login", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://bench", host: "bench" },
    body: new URLSearchParams({ token: ADMIN, next: "/runs" }),
  });
  const adminCookie = (adminLogin.headers.get("set-cookie") ?? "").split(";")[0] as string;
  if (!adminCookie.startsWith("agentd_session=")) throw new Error(`operator sign-in failed: ${adminLogin.status}`);

  // Each view's first load: the page, and every script and stylesheet it names (cached after the
  // first view: the same two files on every page), and the page's server time.
  const size = async (p: string) =>
    (await (await server.request(`http://bench${p}`, { headers: { cookie } })).arrayBuffer()).byteLength;
  const views = ["/", "/runs", "/runs/failed", `/runs/${id(1)}`, "/approvals", "/schedules", "/chat", "/sessions"];
  for (const view of [...views, "/memory", "/tools"]) {
    const times: number[] = [];
    let html = "";
    for (let i = 0; i < Math.max(5, Math.floor(SAMPLES / 5)) + 2; i++) {
      const t = performance.now();
      const res = await server.request(`http://bench${view}`, { headers: { cookie } });
      html = await res.text();
      if (res.status !== 200) throw new Error(`${view}: ${res.status} ${html.slice(0, 200)}`);
      if (i >= 2) times.push(performance.now() - t);
    }
    const scripts = [...html.matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => m[1] as string);
    const styles = [...html.matchAll(/<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"/g)].map((m) => m[1] as string);
    const scriptBytes = (await Promise.all(scripts.map(size))).reduce((a, b) => a + b, 0);
    const styleBytes = (await Promise.all(styles.map(size))).reduce((a, b) => a + b, 0);
    emit("first_load_bytes", {
      page: view,
      html: Buffer.byteLength(html),
      script: scriptBytes,
      scripts,
      stylesheet: styleBytes,
      total: Buffer.byteLength(html) + scriptBytes + styleBytes,
      server_p50_ms: pct(times, 0.5),
      target_script_max: 150_000,
      ok: scriptBytes < 150_000,
    });
  }

  // A cursor half-way down the tenant's runs: a deep page, as after many "older" clicks.
  const mid = T0 + RUNS * 1000;
  const midId = id(RUNS);
  const cases: [string, string][] = [
    ["api first page", "/v1/runs?limit=50"],
    ["api deep page (cursor half-way)", `/v1/runs?limit=50&cursor=${mid}:${midId}`],
    ["api status=failed", "/v1/runs?limit=50&status=failed"],
    ["api status=failed deep", `/v1/runs?limit=50&status=failed&cursor=${mid}:${midId}`],
    ["api workflow=agent.reminder", "/v1/runs?limit=50&workflow=agent.reminder"],
    // A status none of the tenant's runs has (the overview asks for pending runs): no row stops the scan.
    ["api status=pending (none)", "/v1/runs?limit=50&status=pending"],
    ["api since last hour (empty)", `/v1/runs?limit=50&since=${T0 + total * 1000 + 3_600_000}`],
    ["api key", `/v1/runs?limit=50&key=k${RUNS + 1}`],
    ["page /runs", "/runs"],
    ["page /runs deep", `/runs?cursor=${mid}:${midId}`],
    ["page /runs/failed", "/runs/failed"],
    ["operator api every tenant", "/v1/admin/runs?limit=50"],
    ["operator api every tenant deep", `/v1/admin/runs?limit=50&cursor=${mid}:${midId}`],
    ["operator api every tenant status=failed", "/v1/admin/runs?limit=50&status=failed"],
    ["operator page /runs?all=1", "/runs?all=1"],
    ["operator page /runs?all=1 deep", `/runs?all=1&cursor=${mid}:${midId}`],
  ];
  for (const [name, path] of cases) {
    const operator = name.startsWith("operator");
    const times: number[] = [];
    let rows = 0;
    for (let i = 0; i < SAMPLES + 5; i++) {
      const t = performance.now();
      const res = await server.request(`http://bench${path}`, { headers: { cookie: operator ? adminCookie : cookie } });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${body.slice(0, 200)}`);
      if (i >= 5) times.push(performance.now() - t);
      if (i === 0) rows = path.startsWith("/v1") ? (JSON.parse(body) as { runs: unknown[] }).runs.length : 0;
    }
    emit("runs_list_ms", {
      case: name,
      path,
      runs_stored: total,
      tenant_runs: RUNS,
      rows,
      samples: SAMPLES,
      p50: pct(times, 0.5),
      p99: pct(times, 0.99),
      max: pct(times, 1),
      target_p50_max: 50,
      ok: pct(times, 0.5) < 50,
    });
  }
} finally {
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });
  if (pgSchema) {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${pgSchema} CASCADE`);
    await c.end();
  }
}
