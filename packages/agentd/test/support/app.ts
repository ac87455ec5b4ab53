import type { Clock, Logger, WorkerOptions } from "@agentd/kernel";
import { type AgentdOptions, createAgentd, type Agentd } from "../../src/app.ts";
import type { Config } from "../../src/config.ts";
import type { ToolSource } from "../../src/tools/sources/port.ts";
import type { Tool } from "../../src/tools/types.ts";
import type { Backend } from "./backends.ts";
import { type ModelServer, startModelServer } from "./model-server.ts";

/** A test's agentd: on a fresh place of the backend, talking to a local stand-in model. */
export interface TestAgentd {
  app: Agentd;
  model: ModelServer;
  place: ReturnType<Backend["place"]>;
  /** A tenant made for the test. */
  tenantId: string;
}

export async function testAgentd(
  t: { after(fn: () => unknown): void },
  b: Backend,
  opts: {
    config?: Partial<Config>;
    clock?: Clock;
    tools?: Tool[];
    toolSources?: ToolSource[];
    /** How stdio MCP servers start (the app's default: in the sandbox). */
    mcp?: AgentdOptions["mcp"];
    model?: ModelServer;
    tenantSettings?: unknown;
    noModel?: boolean;
    logger?: Logger;
    worker?: false | WorkerOptions;
    /** Where the channels' lines go (stderr by default). */
    channelLog?: (line: string) => void;
  } = {},
): Promise<TestAgentd> {
  // The place is removed only after the app is closed: node:test runs `after` hooks in the order they
  // were added, and a Postgres schema dropped under a live app fails its last commits.
  const removals: (() => unknown)[] = [];
  const place = b.place({ after: (fn) => void removals.push(fn) });
  const model = opts.model ?? (await startModelServer());
  if (!opts.model) t.after(() => model.close());
  const app = await createAgentd({
    env: {},
    config: {
      ...place,
      adminToken: "admin-test-token",
      model: opts.noModel ? { id: "none" } : { id: "stand-in", baseURL: model.url, apiKey: "test-key" },
      ...opts.config,
    },
    ...(opts.clock ? { clock: opts.clock } : {}),
    tools: opts.tools ?? [],
    ...(opts.toolSources ? { toolSources: opts.toolSources } : {}),
    ...(opts.mcp ? { mcp: opts.mcp } : {}),
    logger: opts.logger ?? (() => {}),
    ...(opts.channelLog ? { channelLog: opts.channelLog } : {}),
    ...(opts.worker !== undefined ? { worker: opts.worker } : {}),
  }).catch(async (e: unknown) => {
    for (const remove of removals) await remove();
    throw e;
  });
  t.after(async () => {
    await app.close();
    for (const remove of removals) await remove();
  });
  // Channels are built by each test's rig and driven by hand: their pollers and rescans are not started.
  if (opts.worker !== false) await app.start({ channels: false });
  const tenant = await app.tenants.create("test", opts.tenantSettings ?? {});
  return { app, model, place, tenantId: tenant.id };
}
