import { createHash } from "node:crypto";
import { type ConnectEvent, connectEventName } from "../../connections/authorize.ts";
import { sessions } from "../../sessions/store.ts";
import type { CallStage } from "./types.ts";

/**
 * When a call uses a connection (`tool.connection(args)`): its token is checked (and refreshed if it
 * expires soon) in a step; when a person must authorize the app first, or again, the link is recorded
 * and sent to the session's channel in that step and the run waits durably for the callback's event,
 * like an approval (timeout: the call is not made). Nothing of a token is journaled: the steps record
 * what to do next, and the tool reads the token at call time.
 */
export const connect: CallStage = {
  name: "connect",
  appliesTo: (tool) => typeof tool.connection === "function",
  async run(c, { ctx, deps, input, scope }) {
    const name = c.tool.connection?.(c.args);
    if (!name) return null;
    const conns = deps.services.connections;
    if (!conns) return `error: connections are not available in this deployment`;
    const asked = await ctx.step(`connect:${c.key}`, async (step) => {
      const p = await conns.prepare(scope, name);
      if (p.kind !== "connect") return p;
      const id = `oap_${createHash("sha256").update(`${step.runId}:${c.key}`).digest("hex").slice(0, 24)}`;
      const { url, wait } = await conns.begin(scope, {
        id,
        connection: name,
        app: p.app,
        runId: step.runId,
        sessionId: input.sessionId,
      });
      // Clients reading the run (`agentd chat`, the dashboard) show the link too: its session is the person's.
      step.publish({ t: "connect", id, connection: name, app: p.app, url });
      const session = await sessions.require(scope, input.sessionId);
      await deps.channels.deliver({
        tenantId: input.tenantId,
        session,
        kind: "notice",
        key: `connect:${id}`,
        text:
          p.reason === "missing"
            ? `To do this I need access to your ${p.app} account. Connect it here (the link works once): ${url}`
            : `Your ${name} connection needs to be authorized again (${p.app} refused its tokens). Reconnect here: ${url}`,
        runId: step.runId,
      });
      return { kind: "waiting" as const, id: wait ?? id };
    });
    if (asked.kind === "ready") return null;
    if (asked.kind === "error") return `error: ${asked.message}`;
    const ev = await ctx.waitForEvent<ConnectEvent>(connectEventName(asked.id), {
      timeout: deps.connectTimeout ?? deps.approvalTimeout,
    });
    if (ev === null)
      return `the person did not connect ${name} in time; the call was not made (ask them before trying again)`;
    if (!ev.ok) return `the person did not authorize ${name} (${ev.error ?? "refused"}); the call was not made`;
    return null;
  },
};
