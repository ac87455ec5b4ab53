import type { Context } from "hono";
import { openaiError } from "./errors.ts";

/** The agent a tenant talks to, as a model id: one agent per tenant, with its memory, tools and schedules. */
export const AGENT_MODEL = "agentd";

/** GET /models: the agents the tenant can talk to, in OpenAI's list shape. */
export function modelList(tenantId: string, created: number) {
  return { object: "list", data: [{ id: AGENT_MODEL, object: "model", created, owned_by: tenantId }] };
}

/** A 404 in OpenAI's shape for a model that is not one of the tenant's agents; null when it is. */
export function unknownModel(c: Context, model: string): Response | null {
  if (model === AGENT_MODEL) return null;
  return openaiError(
    c,
    404,
    "model_not_found",
    `the model "${model.slice(0, 100)}" does not exist here: this endpoint talks to the tenant's agent, model "${AGENT_MODEL}" (GET /openai/v1/models lists it)`,
    "model",
  );
}
