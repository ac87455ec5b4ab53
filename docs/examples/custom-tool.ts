import { randomInt } from "node:crypto";
import { type Agentd, createAgentd, defineTool } from "agentd";
import { z } from "zod";

/** A tool of your own: `run` receives its arguments typed from the schema, already validated. */
export const rollDice = defineTool({
  name: "roll_dice",
  description: "Rolls dice and returns each face and the total.",
  input: z.object({ count: z.number().int().min(1).max(10), sides: z.number().int().min(2).max(100) }),
  risk: "low",
  defaultDecision: "allow",
  subject: ({ count, sides }) => `${count}d${sides}`,
  async run({ count, sides }) {
    const faces = Array.from({ length: count }, () => randomInt(1, sides + 1));
    return { faces, total: faces.reduce((a, b) => a + b, 0) };
  },
});

/** The same system `agentd start` runs, with the tool added for every tenant allowed to use it. */
export function start(): Promise<Agentd> {
  return createAgentd({ tools: [rollDice] });
}
