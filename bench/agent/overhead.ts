import type { ModelProcess } from "../agent-model.ts";
import { REPLY, SIZE, TOKENS, TOKEN_DELAY_MS, TURNS_PER_CONVERSATION } from "./config.ts";
import { benchTenant, directModel, dist, emit, pct, round, targets, turn, withApp, type Kind } from "./harness.ts";

// ---- 1. per-turn overhead -------------------------------------------------------------------------

export async function overhead(kind: Kind, model: ModelProcess) {
  await model.reply({ text: REPLY, tokenDelayMs: TOKEN_DELAY_MS });
  // The baseline: the same provider calling the stand-in directly, so the AI SDK's own cost is visible.
  const direct = directModel(model);
  const directWall: number[] = [];
  const directModelMs: number[] = [];
  for (let i = 0; i < SIZE.direct + 3; i++) {
    const { totalMs } = await direct();
    const { calls } = await model.take();
    if (i < 3) continue;
    directWall.push(totalMs);
    directModelMs.push(calls.reduce((a, c) => a + c.ms, 0));
  }
  await withApp(kind, model, async (app) => {
    const tenant = await benchTenant(app, "overhead");
    for (let i = 0; i < 5; i++) await turn(app, tenant.id, "warm-up", `warm-up ${i}`);
    await model.take();
    const over: number[] = [];
    const plain: number[] = [];
    const compacting: number[] = [];
    const wall: number[] = [];
    const modelMs: number[] = [];
    let calls = 0;
    // What the turns asked of the stores (on Postgres, each statement a round trip).
    const os0 = { ...app.db.stats };
    const k0 = { ...app.store.stats };
    for (let i = 0; i < SIZE.turns; i++) {
      const t0 = performance.now();
      await turn(app, tenant.id, `c${Math.floor(i / TURNS_PER_CONVERSATION)}`, `message ${i}: tell me something`);
      const ms = performance.now() - t0;
      // Turns are sequential, so every request the stand-in answered since the last take is this turn's.
      const taken = (await model.take()).calls;
      const m = taken.reduce((a, c) => a + c.ms, 0);
      calls += taken.length;
      wall.push(ms);
      modelMs.push(m);
      over.push(ms - m);
      // A second call is the summary model folding old messages away (every few turns of a long conversation).
      (taken.length > 1 ? compacting : plain).push(ms - m);
    }
    const perTurn = (n: number) => round(n / SIZE.turns, 1);
    const stores = {
      os_statements: perTurn(app.db.stats.statements - os0.statements),
      os_commits: perTurn(app.db.stats.commits - os0.commits),
      kernel_commits: perTurn(app.store.stats.commits - k0.commits),
      kernel_reads: perTurn(app.store.stats.reads - k0.reads),
    };
    targets[`turn_overhead_ms_${kind}`] = pct(over, 0.5) <= 8;
    emit(
      "turn_overhead_ms",
      {
        what: "turn wall time (inbox.receive to kernel.result) minus the model's own time for the turn's calls, as the stand-in measured them (request received to last byte sent); sequential turns",
        turns: SIZE.turns,
        turns_per_conversation: TURNS_PER_CONVERSATION,
        tokens: TOKENS,
        token_delay_ms: TOKEN_DELAY_MS,
        ...dist(over),
        plain_turns: { n: plain.length, ...dist(plain) },
        compacting_turns: { n: compacting.length, ...dist(compacting) },
        turn_ms: dist(wall),
        model_ms: dist(modelMs),
        model_calls: calls,
        per_turn: stores,
        direct_call_ms: pct(directWall, 0.5),
        direct_model_ms: pct(directModelMs, 0.5),
        direct_client_overhead_ms: round(pct(directWall, 0.5) - pct(directModelMs, 0.5)),
        target: "p50 ≤ 8 ms (issue 22)",
        pass: pct(over, 0.5) <= 8,
      },
      kind,
    );
  });
}
