import { z } from "zod";

export type Who = "public" | "admin" | "tenant";

/** One operation of the API: what the OpenAPI document says of it, and what the test compares with the served routes. */
export interface Operation {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** Hono's form (`/v1/runs/:id`); written `{id}` in the document. */
  path: string;
  who: Who;
  summary: string;
  body?: z.ZodType;
  query?: z.ZodType;
  /** The success status and what it returns (a schema where the shape matters to clients). */
  ok: { status: number; description: string; schema?: z.ZodType; sse?: boolean };
}

export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string().describe("what is wrong and what to do, for a person") }),
});
