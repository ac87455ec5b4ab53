/**
 * Type tests of `defineTool`, checked by `npm run typecheck` (tsc), never run: each `@ts-expect-error`
 * fails the type-check if the line it marks starts to compile, so a loosened type (arguments as `any`,
 * a schema's output not reaching the body) breaks CI. `Equal` compares types exactly (any ≠ number).
 */
import { defineTool, type Tool, type ToolContext } from "agentd";
import { z } from "zod";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Compiles only when `T` is `true`. */
function expect<T extends true>(_?: T): void {}

const input = z.object({
  city: z.string(),
  days: z.number().int().min(1).max(7).default(3),
  units: z.enum(["metric", "imperial"]).optional(),
});
type Args = { city: string; days: number; units?: "metric" | "imperial" | undefined };

// The body, `subject` and `always` receive the schema's output (defaults applied: `days` is a number).
const forecast = defineTool({
  name: "forecast",
  description: "The weather for the next days.",
  input,
  risk: "low",
  defaultDecision: "allow",
  subject: (args) => {
    expect<Equal<typeof args, Args>>();
    return args.city;
  },
  always: (args) => ({ pattern: args.city, shown: `every forecast for ${args.city}` }),
  async run(args, ctx) {
    expect<Equal<typeof args, Args>>();
    expect<Equal<typeof ctx, ToolContext>>();
    return { city: args.city, days: args.days };
  },
});
expect<Equal<typeof forecast, Tool<Args>>>();

// A transform's output is what the body receives, not the raw input.
const lowered = defineTool({
  name: "lowered",
  description: "Looks a word up.",
  input: z.object({ word: z.string().transform((w) => w.length) }),
  risk: "low",
  defaultDecision: "allow",
  async run({ word }) {
    expect<Equal<typeof word, number>>();
    return word;
  },
});
expect<Equal<typeof lowered, Tool<{ word: number }>>>();

defineTool({
  name: "wrong_field",
  description: "Reads a field the schema does not have.",
  input,
  risk: "low",
  defaultDecision: "allow",
  // @ts-expect-error `country` is not in the schema
  run: async (args) => args.country,
});

defineTool({
  name: "wrong_type",
  description: "Treats a number as a string.",
  input,
  risk: "low",
  defaultDecision: "allow",
  // @ts-expect-error `days` is a number
  run: async (args) => args.days.toUpperCase(),
});

defineTool({
  name: "bad_subject",
  description: "A subject that is not a string.",
  input,
  risk: "low",
  defaultDecision: "allow",
  // @ts-expect-error `subject` returns the text policies match: a string
  subject: (args) => args.days,
  run: async () => null,
});

defineTool({
  name: "bad_risk",
  description: "An unknown risk level.",
  input,
  // @ts-expect-error risk is low, medium or high
  risk: "extreme",
  defaultDecision: "allow",
  run: async () => null,
});

defineTool({
  name: "bad_decision",
  description: "An unknown default decision.",
  input,
  risk: "low",
  // @ts-expect-error a decision is allow, ask or deny
  defaultDecision: "maybe",
  run: async () => null,
});

defineTool({
  name: "sync_run",
  description: "A body that does not return a promise.",
  input,
  risk: "low",
  defaultDecision: "allow",
  // @ts-expect-error `run` is async
  run: (args) => args.city,
});

defineTool({
  name: "no_schema",
  description: "A plain object as input.",
  // @ts-expect-error an input must be a zod schema
  input: { city: "string" },
  risk: "low",
  defaultDecision: "allow",
  run: async () => null,
});

// @ts-expect-error `run` is required
defineTool({ name: "no_run", description: "Nothing to run.", input, risk: "low", defaultDecision: "allow" });
