import type { Logger } from "@agentd/kernel";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { onApiError } from "../api/errors.ts";

/** OpenAI's error types, by the HTTP status they come with. */
function typeOf(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 429) return "rate_limit_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

/** An error answer in OpenAI's shape: `{ error: { message, type, param, code } }` (what its clients read). */
export function openaiError(
  c: Context,
  status: ContentfulStatusCode,
  code: string,
  message: string,
  param: string | null = null,
): Response {
  return c.json({ error: { message, type: typeOf(status), param, code } }, status);
}

/**
 * Any error of a request to /openai/v1, in OpenAI's shape: the status and the sentence are agentd's
 * (onApiError chooses them, logs faults of ours and keeps their internals out), the envelope OpenAI's.
 */
export async function onOpenaiError(e: unknown, c: Context, log: Logger): Promise<Response> {
  const res = onApiError(e, c, log);
  const body = (await res.json()) as { error: { code: string; message: string } };
  const out = openaiError(c, res.status as ContentfulStatusCode, body.error.code, body.error.message);
  const retry = res.headers.get("retry-after");
  if (retry) out.headers.set("retry-after", retry);
  return out;
}
