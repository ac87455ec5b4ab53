import type { Context, MiddlewareHandler } from "hono";
import type { z } from "zod";
import { badRequest } from "../errors.ts";

/** A zod failure as one sentence: each issue's path and what is wrong with it (never the value). */
export function describeIssues(error: z.ZodError, where: string): string {
  const issues = error.issues.slice(0, 5).map((i) => `${i.path.map(String).join(".") || `(${where})`}: ${i.message}`);
  const more = error.issues.length > 5 ? ` (and ${error.issues.length - 5} more)` : "";
  return `the ${where} is not valid: ${issues.join("; ")}${more}`;
}

/**
 * The request's JSON body, validated. The size limit is enforced before (bodyLimit). A parse error
 * gives the position only: the parser's own message quotes the body, which may hold a secret.
 */
export async function readBody<S extends z.ZodType>(
  c: Context,
  schema: S,
  opts: { optional?: boolean } = {},
): Promise<z.infer<S>> {
  const text = await c.req.text();
  let value: unknown;
  if (text.trim() === "") {
    if (!opts.optional) throw badRequest("the body is empty: send a JSON object (Content-Type: application/json)");
    value = {};
  } else {
    try {
      value = JSON.parse(text);
    } catch (e) {
      const at = /position (\d+)/.exec((e as Error).message)?.[1];
      throw badRequest(`the body is not valid JSON${at === undefined ? "" : ` (error at character ${at})`}`);
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw badRequest(describeIssues(parsed.error, "body"));
  return parsed.data;
}

/** The query string, validated (use z.coerce for numbers). */
export function readQuery<S extends z.ZodType>(c: Context, schema: S): z.infer<S> {
  const parsed = schema.safeParse(c.req.query());
  if (!parsed.success) throw badRequest(describeIssues(parsed.error, "query"));
  return parsed.data;
}

/**
 * Middleware that validates the JSON body with `schema` (as readBody) before the handler, which reads
 * it with `c.req.valid("json")`. It declares the body's type, so the typed client (`hc`) checks what a
 * caller sends. Checks the route makes before reading the body go in middleware placed before it.
 */
export function jsonBody<S extends z.ZodType>(
  schema: S,
  opts: { optional?: boolean } = {},
  // biome-ignore lint/suspicious/noExplicitAny: any app's Env (Hono's own validator is typed so)
): MiddlewareHandler<any, string, { in: { json: z.input<S> }; out: { json: z.output<S> } }> {
  return async (c, next) => {
    c.req.addValidatedData("json", (await readBody(c, schema, opts)) as object);
    await next();
  };
}

/** Middleware that validates the query string with `schema` (as readQuery); the handler reads it with `c.req.valid("query")`. */
export function queryOf<S extends z.ZodType>(
  schema: S,
  // biome-ignore lint/suspicious/noExplicitAny: any app's Env (Hono's own validator is typed so)
): MiddlewareHandler<any, string, { in: { query: QueryInput<z.input<S>> }; out: { query: z.output<S> } }> {
  return async (c, next) => {
    c.req.addValidatedData("query", readQuery(c, schema) as object);
    await next();
  };
}

/** What a client sends for a query schema: each field as text, all optional (the schema coerces and defaults). */
type QueryInput<T> = { [K in keyof T]?: string };
