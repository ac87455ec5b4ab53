import type { Handler, Hono } from "hono";
import type { Agentd } from "../app.ts";
import { onNotFound } from "../api/errors.ts";
import type { DashboardOptions } from "./index.ts";

/**
 * The first path segment of every dashboard page, form and asset (`""` is the overview at `/`);
 * test/dashboard/mount.test.ts holds the dashboard's routes to it. Only these paths load the dashboard.
 */
export const DASHBOARD_ROOTS = [
  "",
  "approvals",
  "assets",
  "chat",
  "files",
  "login",
  "logout",
  "memory",
  "runs",
  "schedules",
  "sessions",
  "tenant",
  "tenants",
  "tools",
] as const;

/** The paths to mount `dashboardRoute` on: each root and what is below it. */
export const dashboardPaths = (): string[] => DASHBOARD_ROOTS.flatMap((r) => (r === "" ? ["/"] : [`/${r}`, `/${r}/*`]));

/**
 * The handler for the dashboard's paths: its module, with its views and assets, is imported on the
 * first request for a page rather than with every `agentd start` (it was 17 of the modules loaded at
 * start). A path none of its routes serves gets the API's JSON 404, as before.
 */
export function dashboardRoute(app: Agentd, o: DashboardOptions): Handler {
  let served: Promise<Hono> | null = null;
  return async (c) => {
    if (!served) app.warm(); // before importing modules the tools or the turn may share (Agentd.warm)
    served ??= import("./index.ts").then(
      (m) => {
        const d = m.dashboardApp(app, o);
        d.notFound(onNotFound);
        return d as unknown as Hono;
      },
      (e: unknown) => {
        served = null;
        throw e;
      },
    );
    // The connection's details (c.env) go along: the sign-in's throttle reads the client's address from them.
    return (await served).fetch(c.req.raw, c.env);
  };
}
