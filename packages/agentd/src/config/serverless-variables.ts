import { z } from "zod";
import { v } from "./kinds.ts";

/**
 * The serverless handler's variables (src/serverless), a part of `Env` (variables.ts). They are
 * checked here for `agentd doctor` and the README, and read by serverless/options.ts, which
 * says the same thing when the handler is made.
 */
export const serverlessVariables = {
  AGENTD_TICK_SECRET: v(z.string().min(16, "it must be 16 or more random characters").optional(), {
    section: "serverless",
    doc: "the secret the tick route (POST /tick) asks as `Authorization: Bearer`; createAgentdHandler refuses to start without it or CRON_SECRET",
    secret: true,
  }),
  // Not checked here: the name is the platform's, and a server that does not serve ticks may have one of any length.
  CRON_SECRET: v(z.string().optional(), {
    section: "serverless",
    doc: "the tick's secret when AGENTD_TICK_SECRET is unset (Vercel Cron sends it as a bearer token)",
    secret: true,
  }),
  AGENTD_FUNCTION_TIMEOUT: v(
    z
      .string()
      .regex(/^\d+$/, "it must be whole seconds")
      .refine((s) => Number(s) >= 2 && Number(s) <= 900, "it must be from 2 to 900 seconds")
      .optional(),
    {
      section: "serverless",
      doc: "the function's time limit in seconds: a tick and a webhook's turn stop in time to commit before it",
      default: "10",
    },
  ),
  // Set by the platforms, read by `agentd doctor` only: in a function's environment it checks what the handler needs.
  VERCEL: v(z.string().optional(), {
    section: "serverless",
    doc: "set by Vercel: `agentd doctor` checks what createAgentdHandler needs there",
  }),
  AWS_LAMBDA_FUNCTION_NAME: v(z.string().optional(), {
    section: "serverless",
    doc: "set by AWS Lambda: `agentd doctor` checks what createAgentdHandler needs there",
  }),
};
