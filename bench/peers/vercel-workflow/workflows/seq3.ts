/**
 * The benchmark's 3-step workflow for Vercel Workflow: the same trivial steps as the kernel's
 * `bench.seq3` (bench/shared.ts), written with the SDK's directives. `workflow build` compiles this
 * folder into .well-known/workflow/v1/{flow,step}.js (bench/peers/vercel-workflow.ts runs it).
 */
async function step(run: number, step: number): Promise<{ run: number; step: number; ok: boolean }> {
  "use step";
  return { run, step, ok: true };
}

export async function seq3(i: number): Promise<number> {
  "use workflow";
  let sum = 0;
  for (let s = 0; s < 3; s++) sum += (await step(i, s)).step;
  return sum;
}
