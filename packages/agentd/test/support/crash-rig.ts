import { type Agentd, createAgentd } from "../../src/app.ts";
import type { NetPolicy } from "../../src/net/policy.ts";
import type { Backend, Place } from "./backends.ts";
import { cleanEnv } from "./cli.ts";
import { type ModelServer, type ModelServerOptions, startModelServer } from "./model-server.ts";

/** What a crash test of a real agentd process stands on; the child processes are the test's own. */
export interface CrashBase {
  place: Place;
  model: ModelServer;
  /** The environment of the child processes: the store, the model stand-in, short leases, and `env`. */
  env: NodeJS.ProcessEnv;
  /** An agentd on the same store with no worker, for the test to set things up and look. */
  client: Agentd;
  tenantId: string;
}

/**
 * The store, the model stand-in and the client every crash test starts from. The children's
 * environment inherits nothing of agentd's (`cleanEnv`), so a variable set on the machine cannot
 * change what a test proves.
 */
export async function crashBase(
  t: { after(fn: () => unknown): void },
  b: Backend,
  o: { env?: Record<string, string>; model?: ModelServerOptions; net?: NetPolicy; tenant?: string } = {},
): Promise<CrashBase> {
  const place = b.place(t);
  const model = await startModelServer(o.model);
  t.after(() => model.close());
  const env = cleanEnv({
    AGENTD_MODEL_BASE_URL: model.url,
    AGENTD_MODEL: "stand-in",
    AGENTD_MODEL_API_KEY: "k",
    DATABASE_URL: place.databaseUrl ?? "",
    AGENTD_PG_SCHEMA: place.pgSchema ?? "",
    CRASH_DIR: place.dataDir,
    AGENTD_LEASE_MS: "1500",
    ...o.env,
  });
  const client = await createAgentd({
    env: {},
    config: {
      ...place,
      model: { id: "stand-in", baseURL: model.url, apiKey: "k" },
      ...(o.net ? { net: o.net } : {}),
    },
    worker: false,
    logger: () => {},
  });
  t.after(() => client.close());
  const tenantId = (await client.tenants.create(o.tenant ?? "crash")).id;
  return { place, model, env, client, tenantId };
}
