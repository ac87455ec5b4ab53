import { COMPOSIO } from "./operations/composio.ts";
import { CONNECTIONS } from "./operations/connections.ts";
import { DATA } from "./operations/data.ts";
import { OPENAI } from "./operations/openai.ts";
import { OPERATOR } from "./operations/operator.ts";
import { PUSH } from "./operations/push.ts";
import { TURNS } from "./operations/turns.ts";
import type { Operation } from "./operations/types.ts";

export { ErrorBody, type Operation, type Who } from "./operations/types.ts";

// Every operation the API serves, with the zod schemas its routes validate with: the table the
// OpenAPI document (openapi.ts) is generated from, and that a test compares with the served routes.
// One file per concern in operations/; a new group of routes is a file there and a line here.
export const OPERATIONS: Operation[] = [
  ...OPERATOR,
  ...TURNS,
  ...DATA,
  ...CONNECTIONS,
  ...OPENAI,
  ...PUSH,
  ...COMPOSIO,
];

/** Every operation described, as "METHOD path" in Hono's form: what the test compares with the served routes. */
export const DESCRIBED = OPERATIONS.map((o) => `${o.method.toUpperCase()} ${o.path}`);
