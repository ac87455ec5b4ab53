// Commonly used: build the API over an app, or serve it.

/** The Hono app of agentd's HTTP API (tenants, messages, runs, schedules, approvals, memory, secrets, policies, usage, health, metrics). */
export { type ApiOptions, createApi } from "./create.ts";
/** Serves the API with @hono/node-server; returns its URL and `close`. */
export { serveApi, type ServedApi } from "./serve.ts";

// Advanced: what middleware and handlers share.

/** Who called (admin or tenant) and the tenant a request acts for. */
export type { ApiEnv, Caller, TenantEnv } from "./env.ts";
/** The error answer's shape: `{ error: { code, message } }`. */
export { errorBody } from "./errors.ts";
/** The SSE framing of a run's stream. */
export { frame, runEvents } from "./sse.ts";
