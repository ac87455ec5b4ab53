import type { Workflow } from "../../packages/kernel/src/index.ts";
import { summarize, tickWorkflow, type StoreFactory } from "../shared.ts";
import { CFG } from "./config.ts";
import { emit, note, sleepMs } from "./harness.ts";
import { clientKernel, startWorkers, waitEnded, type Workers } from "./processes.ts";
import type { Figures } from "./ratios.ts";

// ---- 6. cron schedules: how late a tick fires ------------------------------------------------------

export async function schedule(factory: StoreFactory, figures: Figures): Promise<void> {
  const cfg = CFG.schedule;
  const label = "schedule";
  const opened = await factory.open(label);
  const client = clientKernel(opened, [tickWorkflow as Workflow<never, unknown>], label);
  let workers: Workers | null = null;
  try {
    workers = await startWorkers(
      cfg.workers,
      { store: opened.spec, sequential: [], tick: true, concurrency: 100, ...(factory.remote ? {} : { pollMs: 20 }) },
      label,
    );
    const created = Date.now();
    const ids: string[] = [];
    for (let k = 0; k < cfg.schedules; k++) {
      ids.push(
        (await client.schedules.create({ id: `bench-${k}`, workflow: tickWorkflow.name, cron: "* * * * * *" })).id,
      );
    }
    note(
      `schedule lag: ${cfg.schedules} schedule(s) firing every second for ${cfg.seconds} s on ${cfg.workers} worker process(es)`,
    );
    await sleepMs(cfg.seconds * 1_000);
    for (const id of ids) await client.schedules.pause(id);
    const stopAt = Date.now();
    const ticks = (await Promise.all(ids.map((id) => client.schedules.ticks(id, 10_000)))).flat();
    const from = created + cfg.skipFirstMs;
    const counted = ticks.filter((t) => t.tickAt >= from);
    const started = counted.filter((t) => t.status === "started");
    const lag = summarize(started.map((t) => t.firedAt - t.tickAt));
    // The first tick of each schedule, which the workers learn about only from the database.
    const first = summarize(
      ids
        .map((id) => {
          const mine = ticks.filter((t) => t.scheduleId === id).sort((a, b) => a.tickAt - b.tickAt)[0];
          return mine ? mine.firedAt - mine.tickAt : NaN;
        })
        .filter((x) => !Number.isNaN(x)),
    );
    // Tick to the started run's end: the NOTIFY, a claim and one step's commits on top of the fire lag.
    await waitEnded(opened, ticks.filter((t) => t.status === "started").length, label, 30_000);
    const ends: number[] = [];
    for (const t of started) {
      const run = t.runId ? await client.getRun(t.runId) : null;
      if (run?.completedAt != null) ends.push(run.completedAt - t.tickAt);
    }
    const expected = cfg.schedules * Math.max(0, Math.floor(stopAt / 1_000) - Math.ceil(from / 1_000) + 1);
    figures.scheduleLag = lag;
    emit("schedule_lag_ms", {
      ...lag,
      workers: cfg.workers,
      schedules: cfg.schedules,
      cron: "* * * * * *",
      seconds: cfg.seconds,
      ticks_expected: expected,
      ticks_recorded: counted.length,
      ticks_skipped: counted.filter((t) => t.status === "skipped").length,
      first_tick_lag_p50: first.p50,
      first_tick_max: first.max,
      run_completed_lag_p50: summarize(ends).p50,
      run_completed_lag_p99: summarize(ends).p99,
      what:
        `firedAt - tickAt of kernel.schedules.ticks(), ticks that started a run, after the first ${cfg.skipFirstMs} ms; ` +
        "run_completed_lag: the started run's completedAt - tickAt (1-step workflow)",
    });
    note(
      `schedule lag: p50 ${lag.p50.toFixed(1)} ms, p99 ${lag.p99.toFixed(1)} ms over ${lag.n} ticks; first tick ${first.max} ms late at most`,
    );
  } finally {
    await workers?.stop().catch(() => {});
    await client.close();
    await opened.close();
  }
}
