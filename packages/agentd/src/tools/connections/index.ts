import { z } from "zod";
import { NAME } from "../../connections/apps.ts";
import { AgentdError } from "../../errors.ts";
import type { Tool, ToolContext } from "../types.ts";

const Args = z.object({
  action: z.enum(["list", "connect", "test", "remove"]),
  name: z
    .string()
    .regex(NAME, "a connection name is 1-32 of a-z 0-9 _ -")
    .optional()
    .describe("the connection (app) name, e.g. github"),
});
type Args = z.infer<typeof Args>;

const portOf = (ctx: ToolContext) => {
  const c = ctx.services.connections;
  if (!c) throw new AgentdError("not_configured", "OAuth connections are not available in this deployment");
  return c;
};

const need = (a: Args): string => {
  if (!a.name) throw new AgentdError("bad_request", `action ${a.action} needs the connection's name`);
  return a.name;
};

/**
 * `connections`: the person's OAuth connections from the chat. `connect` sends them a link and waits
 * (the chain's connect stage does it before this runs); list and test act at once, remove asks the
 * person first (even when a rule allows the tool). Tokens never come back: only names, accounts and statuses.
 */
export const connectionsTool: Tool<Args> = {
  name: "connections",
  description: "The person's OAuth app connections (connect sends them a link).",
  input: Args,
  risk: "medium",
  defaultDecision: "allow",
  subject: (a) => `${a.action}${a.name ? ` ${a.name}` : ""}`,
  connection: (a) => (a.action === "connect" ? a.name : undefined),
  // Removing revokes the person's tokens at the provider: they say yes first, whatever allows the rest.
  allowable: (a) => a.action !== "remove",
  async run(a, ctx) {
    const c = portOf(ctx);
    switch (a.action) {
      case "list":
        return (await c.list(ctx.tenant)).map((x) => ({
          name: x.name,
          app: x.app,
          account: x.account,
          status: x.status,
        }));
      case "connect":
        need(a);
        return { connected: a.name };
      case "test":
        return c.test(ctx.tenant, need(a));
      case "remove":
        return c.remove(ctx.tenant, need(a));
    }
  },
};
