import type { Hono } from "hono";
import type { Agentd } from "../app.ts";
import type { DashEnv, signedIn } from "./viewer.ts";

/** What each view registers its pages on: the dashboard's app, the sign-in guard, agentd. */
export interface Routes {
  r: Hono<DashEnv>;
  guard: ReturnType<typeof signedIn>;
  app: Agentd;
}
