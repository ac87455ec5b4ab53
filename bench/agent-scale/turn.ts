/**
 * The agent turn itself on the large store: does its overhead beyond the model stay what it is on a
 * store of its one tenant alone? Same tenant, same kind of conversation, the stand-in model in its own
 * process (bench/agent-model.ts, which times each request where a model would spend it), turns taken
 * alternately on the two stores in blocks of 10 so load from elsewhere weighs on both.
 */
import type { Agentd } from "../../packages/agentd/src/app.ts";
import type { ModelProcess } from "../agent-model.ts";
import { type Summary, summarize } from "../shared.ts";

export interface TurnPlace {
  app: Agentd;
}

export interface TurnOverhead {
  large: Summary;
  empty: Summary;
  samples: number;
}

/**
 * `samples` turns on each store in the tenant's own HTTP conversation (a session that grows the same
 * way on both), after 5 warm-up turns each. Overhead = receive to result, less the model's own time.
 */
export async function turnOverhead(
  tenantId: string,
  large: TurnPlace,
  empty: TurnPlace,
  model: ModelProcess,
  samples: number,
): Promise<TurnOverhead> {
  await model.reply({ text: "A short reply from the stand-in, streamed token by token.", tokenDelayMs: 0 });
  const once = async (p: TurnPlace, i: number): Promise<number> => {
    const t0 = performance.now();
    const r = await p.app.inbox.receive({ tenantId, channel: "http", conversation: "scale-turns", text: `turn ${i}` });
    await p.app.kernel.result(r.runId);
    const ms = performance.now() - t0;
    const { calls } = await model.take();
    if (calls.length === 0) throw new Error(`turn ${i} made no model call`);
    return ms - calls.reduce((a, c) => a + c.ms, 0);
  };
  const places = [large, empty];
  for (const p of places) for (let i = 0; i < 5; i++) await once(p, -1 - i);
  const xs: number[][] = [[], []];
  for (let done = 0; done < samples; done += 10)
    for (const [j, p] of places.entries())
      for (let i = done; i < Math.min(samples, done + 10); i++) xs[j]?.push(await once(p, i));
  return { large: summarize(xs[0] as number[]), empty: summarize(xs[1] as number[]), samples };
}
