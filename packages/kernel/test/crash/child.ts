// The crash test's child worker as the test sees it (spawned, ready, exited), its seeded PRNG and a timeout.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const WORKER = fileURLToPath(new URL("./worker.ts", import.meta.url));

/** mulberry32: a small seeded PRNG, so that the kill schedule can be replayed from the seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Child {
  proc: ChildProcess;
  /** Settles when the worker reports that it runs; rejects if it dies first. */
  ready: Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly exited: boolean;
  stderr: string[];
}

export function spawnWorker(db: string, log: string): Child {
  const proc = spawn(process.execPath, [WORKER, db, log], { stdio: ["ignore", "inherit", "pipe", "ipc"] });
  const stderr: string[] = [];
  proc.stderr?.setEncoding("utf8").on("data", (d: string) => stderr.push(d));
  let exited = false;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on("exit", (code, signal) => {
      exited = true;
      resolve({ code, signal });
    }),
  );
  const ready = new Promise<void>((resolve, reject) => {
    proc.on("message", (m: { type?: string }) => m?.type === "ready" && resolve());
    proc.on("error", reject);
    void exit.then(({ code, signal }) =>
      reject(
        new Error(`worker ${proc.pid} exited before it was ready (code ${code}, signal ${signal}): ${stderr.join("")}`),
      ),
    );
  });
  ready.catch(() => {});
  return {
    proc,
    ready,
    exit,
    stderr,
    get exited() {
      return exited;
    },
  };
}

export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)),
  );
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
