/**
 * The 3-step workflow on Restate: its server (`@restatedev/restate-server`, a prebuilt binary shipped
 * in the npm package `@restatedev/restate-server-linux-x64`) run by this process on 127.0.0.1 with a
 * fresh base directory in the OS temp dir, where it keeps its log and state (RocksDB; Restate does not
 * use Postgres); the workflow served by the TypeScript SDK (`@restatedev/restate-sdk`) over HTTP/2 on
 * 127.0.0.1 from this process, registered through the admin API; runs submitted and awaited with the
 * ingress client (`@restatedev/restate-sdk-clients`).
 *
 * The packages are loaded with dynamic imports of computed names, so type-checking the repository does
 * not need bench/'s dependencies; the interfaces below are the part of their APIs used here.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http2 from "node:http2";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stepValue } from "../shared.ts";
import { type Peer, installedVersion, packageRoot, timeBatch, timeSequential } from "./peer.ts";

interface RestateRunContext {
  run<T>(name: string, action: () => Promise<T>): Promise<T>;
}
interface RestateSdk {
  workflow(def: { name: string; handlers: { run: (ctx: RestateRunContext, i: number) => Promise<number> } }): {
    name: string;
  };
  createEndpointHandler(opts: {
    services: unknown[];
    logger?: (meta: { level: string }, message: unknown, ...rest: unknown[]) => void;
  }): (req: never, res: never) => void;
}
interface WorkflowClient {
  workflowSubmit(i: number): Promise<unknown>;
  workflowAttach(): Promise<number>;
}
interface RestateClients {
  connect(opts: { url: string }): { workflowClient(def: unknown, key: string): WorkflowClient };
}

const SERVER = "@restatedev/restate-server";
const SDK = "@restatedev/restate-sdk";
const CLIENTS = "@restatedev/restate-sdk-clients";

/** `n` distinct free TCP ports on 127.0.0.1: all held open at once (so none is handed out twice), then closed for the server to bind. */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.once("error", reject);
          s.listen(0, "127.0.0.1", () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

async function waitHealthy(url: string, server: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`restate-server exited (${server.exitCode}): ${log()}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`restate-server not healthy at ${url} after 60 s: ${log()}`);
}

export async function openRestate(note: (msg: string) => void): Promise<Peer> {
  const version = installedVersion(SERVER);
  if (!version) throw new Error(`${SERVER} is not installed in bench/: run \`npm --prefix bench install\``);
  const binary = join(packageRoot(`${SERVER}-${process.platform}-${process.arch}`), "bin", "restate-server");
  const sdkName: string = SDK;
  const clientsName: string = CLIENTS;
  const sdk = (await import(sdkName)) as RestateSdk;
  const clients = (await import(clientsName)) as RestateClients;

  const wf = sdk.workflow({
    name: "bench_seq3",
    handlers: {
      run: async (ctx, i) => {
        let sum = 0;
        for (let s = 0; s < 3; s++) sum += (await ctx.run(`s${s}`, async () => stepValue(i, s))).step;
        return sum;
      },
    },
  });
  // The SDK logs every invocation at info by default (a console line each): only warnings and errors.
  const logger = (meta: { level: string }, message: unknown) => {
    if (meta.level === "warn" || meta.level === "error") note(`Restate SDK ${meta.level}: ${String(message)}`);
  };
  const endpoint = http2.createServer(sdk.createEndpointHandler({ services: [wf], logger }) as never);
  await new Promise<void>((resolve) => endpoint.listen(0, "127.0.0.1", resolve));
  const endpointUrl = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}`;

  const baseDir = mkdtempSync(join(tmpdir(), "agentd-bench-restate-"));
  const [ingressPort, adminPort, nodePort] = await freePorts(3);
  let output = "";
  const server = spawn(binary, ["--base-dir", baseDir, "--node-name", "bench", "--no-logo"], {
    env: {
      PATH: process.env.PATH ?? "",
      RESTATE_LISTEN_MODE: "tcp",
      RESTATE_BIND_ADDRESS: `127.0.0.1:${nodePort}`,
      RESTATE_ADVERTISED_ADDRESS: `http://127.0.0.1:${nodePort}/`,
      RESTATE_ADMIN__BIND_ADDRESS: `127.0.0.1:${adminPort}`,
      RESTATE_INGRESS__BIND_ADDRESS: `127.0.0.1:${ingressPort}`,
      // Nothing leaves the machine, and it leaves memory to the others sharing it.
      RESTATE_DISABLE_TELEMETRY: "true",
      RESTATE_ROCKSDB_TOTAL_MEMORY_SIZE: "512 MiB",
      RESTATE_LOG_FILTER: "warn",
      RESTATE_LOG_DISABLE_ANSI_CODES: "true",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const keep = (b: Buffer) => {
    output = (output + b.toString()).slice(-4_000);
  };
  server.stdout?.on("data", keep);
  server.stderr?.on("data", keep);
  const closeAll = async () => {
    if (server.exitCode === null) {
      const exited = new Promise((r) => server.once("exit", r));
      server.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (server.exitCode === null) server.kill("SIGKILL");
    }
    await new Promise<void>((r) => endpoint.close(() => r()));
    rmSync(baseDir, { recursive: true, force: true });
  };
  try {
    const admin = `http://127.0.0.1:${adminPort}`;
    await waitHealthy(`${admin}/health`, server, () => output);
    const reg = await fetch(`${admin}/deployments`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ uri: endpointUrl }),
    });
    if (!reg.ok) throw new Error(`registering the deployment: ${reg.status} ${await reg.text()}`);
    await waitHealthy(`http://127.0.0.1:${ingressPort}/restate/health`, server, () => output);
    note(`Restate ${version} on 127.0.0.1 (ingress ${ingressPort}, admin ${adminPort}), data in ${baseDir}`);
  } catch (e) {
    await closeAll();
    throw e;
  }

  const ingress = clients.connect({ url: `http://127.0.0.1:${ingressPort}` });
  let key = 0;
  /** One run: submitted under a fresh workflow key, then attached to until its result. */
  const run = async (i: number): Promise<number> => {
    const c = ingress.workflowClient(wf, `r${key++}`);
    await c.workflowSubmit(i);
    return c.workflowAttach();
  };
  return {
    name: "restate",
    version,
    stores: `its own disk (RocksDB log and state in a fresh temp dir, fsync on), not Postgres`,
    latency3: (warmup, runs, maxMs) => timeSequential(run, warmup, runs, maxMs),
    throughput3: (warmup, runs) => timeBatch(run, warmup, runs),
    close: closeAll,
  };
}
