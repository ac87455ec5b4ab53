import type { Logger } from "@agentd/kernel";
import type { MiddlewareHandler } from "hono";

/** The tenant an app of its own (the MCP server) acted for, by request: the access log reads it there. */
const tenants = new WeakMap<Request, string>();

/** Notes the tenant a request acts for, when it is served by an app with a context of its own. */
export function noteTenant(req: Request, tenantId: string): void {
  tenants.set(req, tenantId);
}

/** Path segments that are secrets themselves (a handoff link's token): logged as "…". */
const SECRET_SEGMENT = /^(\/handoff\/)[^/]+/;

/**
 * One log line per request, at info, once it is answered: method, path (without its query string,
 * which may carry an OAuth code), status, milliseconds, and the tenant it acted for (or "-"). No
 * header is read, so no token can reach it.
 */
export function accessLog(log: Logger): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const tenant = (c.get("tenantId" as never) as string | undefined) ?? tenants.get(c.req.raw) ?? "-";
      log({
        level: "info",
        msg: "request",
        method: c.req.method,
        path: c.req.path.replace(SECRET_SEGMENT, "$1…"),
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
        tenant,
      });
    }
  };
}
