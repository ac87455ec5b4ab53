// One instance of agentd as a function, as a platform runs it: the handler made at module load (the
// cold start), then invocations handed over IPC by the simulator (simulator.ts), which freezes this
// process (SIGSTOP) between them and kills it (SIGKILL) at the time limit or at random.
import type { Clock } from "@agentd/kernel";
import { createAgentdHandler } from "../../../src/serverless/index.ts";

export interface Invoke {
  type: "invoke";
  id: number;
  /** The scenario's time when the invocation starts (the kernel's clock runs on from it). */
  fakeNow: number;
  /** When the platform kills this invocation (epoch ms). */
  deadline: number;
  request: { path: string; method: string; headers: Record<string, string>; body?: string };
}
export type Reply =
  | { type: "response"; id: number; status: number; body: string }
  | { type: "ended"; id: number }
  | { type: "failed"; id: number; error: string };

// Scenario time: it jumps to each invocation's start and runs at real speed during it.
let base = 0;
let realBase = Date.now();
const clock: Clock = {
  now: () => base + (Date.now() - realBase),
  setTimer: (fn, ms) => setTimeout(fn, Math.max(0, Math.min(ms, 2_147_483_647))),
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
};

const handler = createAgentdHandler({
  env: process.env,
  clock,
  tickEveryMs: Number(process.env.SIM_TICK_EVERY_MS),
  logger: (r) => {
    if (r.level === "warn" || r.level === "error") process.stderr.write(`${JSON.stringify(r)}\n`);
  },
  channelLog: () => {},
});

const send = (m: Reply) => process.send?.(m);

process.on("message", async (m: Invoke) => {
  if (m.type !== "invoke") return;
  base = Math.max(base, m.fakeNow);
  realBase = Date.now();
  const kept: Promise<unknown>[] = [];
  try {
    const { path, method, headers, body } = m.request;
    const res = await handler(new Request(`http://fn.test${path}`, { method, headers, ...(body ? { body } : {}) }), {
      waitUntil: (p) => kept.push(p),
      deadline: m.deadline,
    });
    send({ type: "response", id: m.id, status: res.status, body: await res.text() });
    // The invocation lasts until what it handed to waitUntil settles (more may be added meanwhile).
    for (let n = 0; n < kept.length; n = kept.length) await Promise.allSettled(kept);
    send({ type: "ended", id: m.id });
  } catch (e) {
    send({ type: "failed", id: m.id, error: (e as Error).stack ?? String(e) });
  }
});
