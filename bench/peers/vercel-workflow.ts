/**
 * The 3-step workflow on Vercel Workflow (`workflow`) with its Postgres world
 * (`@workflow/world-postgres`), in plain Node without a framework, as the SDK's guide for framework
 * integrations has it: `workflow build` (its compiler: SWC and esbuild) turns
 * `vercel-workflow/workflows/seq3.ts` ("use workflow" / "use step") into the handler bundles
 * `.well-known/workflow/v1/{flow,step}.js`; this process serves them over HTTP on 127.0.0.1, where
 * the world's queue (graphile-worker on the same Postgres) delivers each workflow and step message;
 * runs are started with `start()` from `workflow/api`, naming the workflow by the id in the build's
 * manifest (the client transform that would attach it to the function is a bundler plugin).
 *
 * Everything the world keeps is in a database of its own on the same server (`agentd_bench_workflow`,
 * made by the run with the world's `bootstrap` migrations and dropped after, once nothing uses it).
 * The world has its defaults: a pool of 10 connections, 10 concurrent queue jobs.
 *
 * The result: `run.returnValue` polls the run every second, which would measure that interval; the
 * bench instead learns in process when the world has written the run's `run_completed` event (a
 * wrapper on `world.events.create`), then reads the result with `run.returnValue` (one read, as the
 * run is then completed).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { type Peer, installedVersion, packageRoot, timeBatch, timeSequential } from "./peer.ts";

type Handler = (req: Request) => Promise<Response>;
interface World {
  start?(): Promise<void>;
  close?(): Promise<void>;
  events: { create(runId: string, event: { eventType: string }, ...rest: unknown[]): Promise<unknown> };
}
interface WorkflowApi {
  start(
    wf: { workflowId: string },
    args: unknown[],
    opts: { world: World },
  ): Promise<{ runId: string; returnValue: Promise<number> }>;
}

export const WORKFLOW_DATABASE = "agentd_bench_workflow";
const APP = fileURLToPath(new URL("./vercel-workflow/", import.meta.url));
const OUT = `${APP}.well-known/workflow/v1/`;
const BIN = (pkg: string, file: string) => `${packageRoot(pkg)}${file}`;
/** The globalThis key under which the SDK caches its world (@workflow/core's runtime/world.js). */
const WORLD_CACHE = Symbol.for("@workflow/world//cache");

/**
 * `workflow build` in the app folder, unless its bundles are newer than the workflow's source and were
 * built by the installed version (a build takes 10 s on a quiet machine, minutes on a loaded one). The
 * bundles are CommonJS, in bench/'s ESM package: a package.json beside them says so.
 */
function build(version: string, note: (msg: string) => void): void {
  const stamp = `${OUT}built-with.json`;
  const source = `${APP}workflows/seq3.ts`;
  if (
    existsSync(stamp) &&
    readFileSync(stamp, "utf8") === JSON.stringify({ version }) &&
    statSync(stamp).mtimeMs > statSync(source).mtimeMs
  )
    return;
  note("Vercel Workflow: workflow build (SWC + esbuild) ...");
  const r = spawnSync(process.execPath, [BIN("workflow", "bin/run.js"), "build"], {
    cwd: APP,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`workflow build failed (${r.status}): ${r.stderr || r.stdout}`);
  writeFileSync(`${OUT}package.json`, '{ "type": "commonjs" }\n');
  writeFileSync(stamp, JSON.stringify({ version }));
}

/** Serves the handler bundles as the framework integrations do: POST .../flow and .../step. */
function serve(flow: Handler, step: Handler): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const path = (req.url ?? "").split("?")[0] ?? "";
      const handler = path.endsWith("/flow") ? flow : path.endsWith("/step") ? step : null;
      if (!handler) {
        res.writeHead(404).end("not found");
        return;
      }
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
      const body = chunks.length ? Buffer.concat(chunks) : undefined;
      const out = await handler(
        new Request(`http://127.0.0.1${req.url}`, { method: req.method ?? "POST", headers, body }),
      );
      res.writeHead(out.status, Object.fromEntries(out.headers.entries()));
      res.end(Buffer.from(await out.arrayBuffer()));
    } catch (e) {
      res.writeHead(500).end(e instanceof Error ? e.message : String(e));
    }
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      }),
    ),
  );
}

/**
 * Drops the world's database once no session uses it any more, without FORCE: terminating a session
 * this process still holds (a client of graphile-worker or of the world that outlived close()) makes
 * it emit an error nobody listens to, and the process exits 1 after printing every figure. A database
 * still in use after 10 s is left, and noted; the next run drops it before it starts.
 */
async function dropWhenUnused(admin: pg.Pool, note: (msg: string) => void): Promise<void> {
  const others = async () =>
    Number(
      (
        await admin.query<{ n: string }>(
          "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
          [WORKFLOW_DATABASE],
        )
      ).rows[0]?.n ?? 0,
    );
  const end = Date.now() + 10_000;
  let n = await others();
  while (n > 0 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    n = await others();
  }
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${WORKFLOW_DATABASE}`);
  } catch (e) {
    note(
      `Vercel Workflow: database ${WORKFLOW_DATABASE} left in place (${n} session(s) still on it: ${String(e)}); the next run drops it`,
    );
  }
}

export async function openVercelWorkflow(url: string, note: (msg: string) => void): Promise<Peer> {
  const version = installedVersion("workflow");
  const worldVersion = installedVersion("@workflow/world-postgres");
  if (!version || !worldVersion)
    throw new Error(
      "workflow / @workflow/world-postgres are not installed in bench/: run `npm --prefix bench install`",
    );
  build(version, note);
  const manifest = JSON.parse(readFileSync(`${OUT}manifest.json`, "utf8")) as {
    workflows: Record<string, Record<string, { workflowId: string }>>;
  };
  const workflowId = manifest.workflows["workflows/seq3.ts"]?.seq3?.workflowId;
  if (!workflowId || !existsSync(`${OUT}flow.js`)) throw new Error("workflow build: no seq3 workflow in the manifest");

  // The world's own database on the same server.
  const dbUrl = new URL(url);
  dbUrl.pathname = `/${WORKFLOW_DATABASE}`;
  const admin = new pg.Pool({ connectionString: url, max: 1 });
  admin.on("error", () => {});
  const existed =
    (await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [WORKFLOW_DATABASE])).rowCount === 1;
  if (existed) await admin.query(`DROP DATABASE ${WORKFLOW_DATABASE} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${WORKFLOW_DATABASE}`);
  const setup = spawnSync(process.execPath, [BIN("@workflow/world-postgres", "bin/setup.js")], {
    encoding: "utf8",
    env: { ...process.env, WORKFLOW_POSTGRES_URL: dbUrl.toString() },
  });
  if (setup.status !== 0) throw new Error(`world-postgres bootstrap failed: ${setup.stderr || setup.stdout}`);

  const worldName: string = "@workflow/world-postgres";
  const apiName: string = "workflow/api";
  const { createWorld } = (await import(worldName)) as { createWorld(c: { connectionString: string }): World };
  const api = (await import(apiName)) as WorkflowApi;
  const world = createWorld({ connectionString: dbUrl.toString() });

  // Told when a run's completion is durable: the world's write of its run_completed event resolved.
  const waiting = new Map<string, () => void>();
  /** Runs completed before `start()` returned their id here. */
  const early = new Set<string>();
  const create = world.events.create.bind(world.events);
  world.events.create = async (runId, event, ...rest) => {
    const out = await create(runId, event, ...rest);
    if (event.eventType === "run_completed") {
      const wake = waiting.get(runId);
      if (wake) wake();
      else early.add(runId);
    }
    return out;
  };
  (globalThis as Record<symbol, unknown>)[WORLD_CACHE] = world;

  const require = createRequire(import.meta.url);
  const flow = (require(`${OUT}flow.js`) as { POST: Handler }).POST;
  const step = (require(`${OUT}step.js`) as { POST: Handler }).POST;
  const http = await serve(flow, step);
  // Where the world's queue delivers (it would otherwise look for a local port itself).
  process.env.WORKFLOW_LOCAL_BASE_URL = `${http.url}/.well-known/workflow`;
  await world.start?.();
  note(
    `Vercel Workflow ${version} (world-postgres ${worldVersion}): handlers on ${http.url}, database ${WORKFLOW_DATABASE}`,
  );

  const run = async (i: number): Promise<number> => {
    const r = await api.start({ workflowId }, [i], { world });
    if (!early.delete(r.runId)) {
      await new Promise<void>((resolve) => waiting.set(r.runId, resolve));
      waiting.delete(r.runId);
    }
    return r.returnValue;
  };
  return {
    name: "vercel-workflow",
    version: `${version} (world-postgres ${worldVersion})`,
    stores: `Postgres, the same server: a database of its own (${WORKFLOW_DATABASE}: the world's tables and graphile-worker's queue)`,
    latency3: (warmup, runs, maxMs) => timeSequential(run, warmup, runs, maxMs),
    throughput3: (warmup, runs) => timeBatch(run, warmup, runs),
    async close() {
      await world.close?.();
      await http.close();
      delete (globalThis as Record<symbol, unknown>)[WORLD_CACHE];
      await dropWhenUnused(admin, note);
      await admin.end();
    },
  };
}
