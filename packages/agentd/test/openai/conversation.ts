// What the OpenAI endpoint's tests read back: the agentd session a conversation maps to.
import assert from "node:assert/strict";
import { sessions } from "../../src/sessions/store.ts";
import type { served } from "../support/api.ts";

type Served = Awaited<ReturnType<typeof served>>;

/** The messages of the tenant's "openai" session named `conversation`, as [role, content]. */
export async function conversation(s: Served, name: string) {
  const scope = s.app.tenants.scope(s.tenantId);
  const session = await sessions.find(scope, "openai", name);
  assert.ok(session, `a session for conversation ${name}`);
  return (await sessions.history(scope, session.id)).map((m) => [m.role, m.content]);
}
