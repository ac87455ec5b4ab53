import { z } from "zod";
import { TENANT_HEADER } from "./auth.ts";
import { VERSION } from "./routes/health.ts";
import { ErrorBody, OPERATIONS } from "./operations.ts";

// The API reference (OpenAPI 3.1), generated from the schemas the routes validate with: request
// bodies and query strings are those very zod schemas (the table in operations.ts), turned into JSON
// Schema by zod. Served at GET /v1/openapi.json.

const schema = (s: z.ZodType, io: "input" | "output") => {
  const { $schema: _, ...rest } = z.toJSONSchema(s, { io, unrepresentable: "any" }) as Record<string, unknown>;
  return rest;
};

const json = (s: z.ZodType, io: "input" | "output") => ({ "application/json": { schema: schema(s, io) } });

const DESCRIPTION = `agentd's HTTP API. Every /v1 route needs \`Authorization: Bearer <token>\`: the operator's admin token
(AGENTD_ADMIN_TOKEN, or the file admin.token in the data folder) or a tenant's API key. The admin token
creates tenants (POST /v1/tenants answers with the tenant's first API key, shown once) and acts for a
tenant when the request names it in the \`${TENANT_HEADER}\` header; an API key acts for its own tenant only.
Errors are \`{ "error": { "code", "message" } }\` with a message for a person. Ten wrong tokens from one
address within a minute get 429 with Retry-After. Channel webhooks (/channels/...) speak their providers'
protocols and are not listed.`;

/** The OpenAPI 3.1 document of the API. */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const o of OPERATIONS) {
    const path = o.path.replace(/:(\w+)/g, "{$1}");
    const params = [...o.path.matchAll(/:(\w+)/g)].map((m) => ({
      name: m[1],
      in: "path",
      required: true,
      schema: { type: "string" },
    }));
    if (o.query) {
      const q = schema(o.query, "input") as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, s] of Object.entries(q.properties ?? {}))
        params.push({
          name,
          in: "query",
          required: (q.required ?? []).includes(name),
          schema: s as { type: string },
        } as never);
    }
    if (o.who === "tenant")
      params.push({
        name: TENANT_HEADER,
        in: "header",
        required: false,
        schema: { type: "string" },
        description:
          "the tenant to act for: required with the admin token, refused (403) with another tenant's API key",
      } as never);
    const ok: Record<string, unknown> = { description: o.ok.description };
    if (o.ok.schema) ok.content = json(o.ok.schema, "output");
    if (o.ok.sse) ok.content = { ...(ok.content as object), "text/event-stream": { schema: { type: "string" } } };
    const errors = {
      default: {
        description:
          "an error: 400 bad input, 401 no or wrong token, 403 not yours, 404, 409, 413 too large, 429 too many",
        content: json(ErrorBody, "output"),
      },
    };
    paths[path] ??= {};
    paths[path][o.method] = {
      summary: o.summary,
      tags: [o.who],
      ...(o.who === "public" ? { security: [] } : {}),
      ...(params.length ? { parameters: params } : {}),
      ...(o.body ? { requestBody: { required: true, content: json(o.body, "input") } } : {}),
      responses: { [String(o.ok.status)]: ok, ...errors },
    };
  }
  return {
    openapi: "3.1.0",
    info: { title: "agentd", version: VERSION, description: DESCRIPTION },
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "the admin token or a tenant's API key" },
      },
    },
    security: [{ bearer: [] }],
    tags: [
      { name: "public", description: "no token needed" },
      { name: "admin", description: "the operator's admin token only" },
      { name: "tenant", description: `a tenant's API key, or the admin token with ${TENANT_HEADER}` },
    ],
    paths,
  };
}
