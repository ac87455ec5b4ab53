import { type ChildProcess, fork } from "node:child_process";
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import type { Agentd } from "../../packages/agentd/src/app.ts";
import type { ModelProcess } from "../agent-model.ts";
import { REPLY, SIZE } from "./config.ts";
import { ADMIN, benchTenant, dist, emit, round, targets, turn, withApp, type Kind } from "./harness.ts";

// ---- 3. throughput with 100 concurrent sessions -------------------------------------------------------

/** Warm-up messages per session before the measurement: a process's first turns compile its paths. */
export const WARM_UP_MESSAGES = 2;

/** Each of `sessions` sends `messages` messages one after another; the latency of each turn. */
export async function drive(
  app: Agentd,
  tenantId: string,
  sessions: readonly number[],
  messages: number,
  prefix: string,
): Promise<number[]> {
  const latency: number[] = [];
  await Promise.all(
    sessions.map(async (s) => {
      for (let m = 0; m < messages; m++) {
        const t = performance.now();
        await turn(app, tenantId, `${prefix} ${s}`, `message ${m}`);
        latency.push(performance.now() - t);
      }
    }),
  );
  return latency;
}

const allSessions = () => Array.from({ length: SIZE.sessions }, (_, s) => s);

/** The one-process figure, then the same spread over two processes (an extra line, `turns_per_s_processes`). */
export async function throughput(kind: Kind, model: ModelProcess) {
  const one = await oneProcess(kind, model);
  await throughputProcesses(kind, model, PROCESSES, one);
}

/** agentd processes of the extra line: this machine has 2 cores. */
const PROCESSES = 2;

async function oneProcess(kind: Kind, model: ModelProcess): Promise<number> {
  await model.reply({ text: REPLY, tokenDelayMs: 0 });
  return withApp(kind, model, async (app) => {
    const tenant = await benchTenant(app, "throughput");
    await drive(app, tenant.id, allSessions(), WARM_UP_MESSAGES, "warm-up");
    await model.take();
    const profile = await profiler(`${kind}`);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const latency = await drive(app, tenant.id, allSessions(), SIZE.messages, "session");
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    await profile();
    const { calls } = await model.take();
    const turns = SIZE.sessions * SIZE.messages;
    const goal = kind === "postgres" ? 300 : 600;
    targets[`turns_per_s_${kind}`] = turns / seconds >= goal;
    emit(
      "turns_per_s",
      {
        what: `${SIZE.sessions} sessions at once, each sending ${SIZE.messages} messages one after another (the next when the previous turn's result is in); instant model (20 tokens, no delay); after a warm-up of ${WARM_UP_MESSAGES} messages from each of ${SIZE.sessions} other sessions`,
        warm_up_turns: SIZE.sessions * WARM_UP_MESSAGES,
        sessions: SIZE.sessions,
        messages_per_session: SIZE.messages,
        turns,
        seconds: round(seconds),
        turns_per_s: round(turns / seconds, 1),
        turn_ms: dist(latency),
        // Less moved by other work on the machine than the wall time: this process's CPU (not the model's, nor Postgres's).
        cpu_ms_per_turn: round((cpu.user + cpu.system) / 1000 / turns),
        model_calls: calls.length,
        target: `≥ ${goal} turns/s (issue 22)`,
        pass: turns / seconds >= goal,
      },
      kind,
    );
    return turns / seconds;
  });
}

/**
 * BENCH_CPU_PROF=<prefix>: a CPU profile of the measured turns only (not the start, nor the warm-up),
 * written to <prefix>-<store>.cpuprofile for Chrome's DevTools; the profiler's own cost moves the
 * figures, so a run that profiles is not one to quote.
 */
async function profiler(name: string): Promise<() => Promise<void>> {
  const prefix = process.env.BENCH_CPU_PROF;
  if (!prefix) return async () => {};
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 200 });
  await session.post("Profiler.start");
  return async () => {
    const { profile } = await session.post("Profiler.stop");
    writeFileSync(`${prefix}-${name}.cpuprofile`, JSON.stringify(profile));
    session.disconnect();
  };
}

// ---- 3b. the same spread over several agentd processes on one database ------------------------------

/**
 * The same sessions and messages, spread over `processes` agentd processes (this one and children,
 * each with its own worker and its share of the sessions): whether a second process gets more turns
 * a second out of the machine's cores than one event loop does.
 */
export async function throughputProcesses(kind: Kind, model: ModelProcess, processes: number, oneProcess: number) {
  await model.reply({ text: REPLY, tokenDelayMs: 0 });
  await withApp(kind, model, async (app, place) => {
    const tenant = await benchTenant(app, "throughput-processes");
    const children = Array.from({ length: processes - 1 }, () =>
      fork(new URL("./throughput-worker.ts", import.meta.url).pathname, [], {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
        env: {
          ...process.env,
          BENCH_AGENTD_PROCESS: JSON.stringify({
            dataDir: place.dataDir,
            databaseUrl: place.databaseUrl,
            pgSchema: place.pgSchema,
            modelUrl: model.url,
            adminToken: ADMIN,
            tenantId: tenant.id,
          }),
        },
      }),
    );
    const next = (c: ChildProcess) => new Promise<Record<string, unknown>>((r) => c.once("message", r));
    const share = (i: number) => allSessions().filter((s) => s % processes === i);
    try {
      await Promise.all(children.map(next));
      await Promise.all([
        ...children.map((c, i) => {
          const warm = next(c);
          c.send({ sessions: share(i + 1), messages: WARM_UP_MESSAGES, prefix: "warm-up" });
          return warm;
        }),
        drive(app, tenant.id, share(0), WARM_UP_MESSAGES, "warm-up"),
      ]);
      await model.take();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const done = children.map((c, i) => {
        const d = next(c);
        c.send({ sessions: share(i + 1), messages: SIZE.messages, prefix: "session" });
        return d;
      });
      const latency = await drive(app, tenant.id, share(0), SIZE.messages, "session");
      const cpu = process.cpuUsage(cpu0);
      let cpuMs = (cpu.user + cpu.system) / 1000;
      for (const r of await Promise.all(done)) {
        latency.push(...(r.latency as number[]));
        cpuMs += r.cpuMs as number;
      }
      const seconds = (performance.now() - t0) / 1000;
      const { calls } = await model.take();
      const turns = SIZE.sessions * SIZE.messages;
      emit(
        "turns_per_s_processes",
        {
          what: `the turns_per_s workload spread over ${processes} agentd processes on one database (each with its worker, driving its share of the sessions); a turn's result is read in the process that sent it, so a turn run by another process is seen by the kernel's polling (250 ms, then longer)`,
          processes,
          turns,
          seconds: round(seconds),
          turns_per_s: round(turns / seconds, 1),
          ratio_to_one_process: round(turns / seconds / oneProcess),
          turn_ms: dist(latency),
          // Every process's CPU, this one's and the children's.
          cpu_ms_per_turn: round(cpuMs / turns),
          model_calls: calls.length,
        },
        kind,
      );
    } finally {
      for (const c of children) c.disconnect();
      await Promise.all(children.map((c) => new Promise((r) => (c.exitCode === null ? c.once("exit", r) : r(null)))));
    }
  });
}
