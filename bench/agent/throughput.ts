import type { ModelProcess } from "../agent-model.ts";
import { REPLY, SIZE } from "./config.ts";
import { benchTenant, dist, emit, round, targets, turn, withApp, type Kind } from "./harness.ts";

// ---- 3. throughput with 100 concurrent sessions -------------------------------------------------------

export async function throughput(kind: Kind, model: ModelProcess) {
  await model.reply({ text: REPLY, tokenDelayMs: 0 });
  await withApp(kind, model, async (app) => {
    const tenant = await benchTenant(app, "throughput");
    await Promise.all(Array.from({ length: 10 }, (_, s) => turn(app, tenant.id, `warm-up ${s}`, "warm-up")));
    await model.take();
    const latency: number[] = [];
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: SIZE.sessions }, async (_, s) => {
        for (let m = 0; m < SIZE.messages; m++) {
          const t = performance.now();
          await turn(app, tenant.id, `session ${s}`, `message ${m}`);
          latency.push(performance.now() - t);
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const { calls } = await model.take();
    const turns = SIZE.sessions * SIZE.messages;
    const goal = kind === "postgres" ? 300 : 600;
    targets[`turns_per_s_${kind}`] = turns / seconds >= goal;
    emit(
      "turns_per_s",
      {
        what: `${SIZE.sessions} sessions at once, each sending ${SIZE.messages} messages one after another (the next when the previous turn's result is in); instant model (20 tokens, no delay)`,
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
  });
}
