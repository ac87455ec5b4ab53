import type { Kernel } from "@agentd/kernel";
import type { BlobStore } from "../blobs/types.ts";
import type { Config } from "../config.ts";
import type { Db } from "../db/index.ts";
import type { HealthChecks } from "../health/checks.ts";
import { MediaReader } from "../media/reader.ts";
import type { MemoryStore } from "../memory/store.ts";
import type { Inbox } from "../sessions/inbox.ts";
import type { Tenants } from "../tenancy/tenants.ts";
import type { Vault } from "../vault/vault.ts";
import { channelDecisions } from "./decisions.ts";
import { HeldDeliveries } from "./held-run.ts";
import type { ChannelHost } from "./ports.ts";
import type { ChannelRegistry } from "./registry.ts";
import type { BotsHost } from "./telegram/bots.ts";

/** The ports every channel is built on, from agentd's parts (the held deliveries' workflow is registered on the kernel here). */
export function channelHostOf(p: {
  config: Config;
  kernel: Kernel;
  inbox: Inbox;
  tenants: Tenants;
  blobs: BlobStore;
  health: HealthChecks;
  adapters: ChannelRegistry;
  db: Db;
  vault: Vault;
  memory: MemoryStore;
  now: () => number;
}): ChannelHost & BotsHost {
  const { blobs, now } = p;
  return {
    inbox: p.inbox,
    decisions: channelDecisions({ tenants: p.tenants, events: p.kernel, now }),
    tenants: p.tenants,
    blobs: {
      put: (t, data, meta) => blobs.put(t, data, meta),
      get: (t, id) => blobs.get(t, id),
      maxBytes: p.config.maxMediaBytes,
    },
    health: p.health,
    adapters: p.adapters,
    held: new HeldDeliveries({ kernel: p.kernel, scope: (t) => p.tenants.scope(t), now }),
    db: p.db,
    vault: p.vault,
    now,
    media: new MediaReader({
      config: p.config.media,
      secrets: (s) => p.vault.reader(s),
      memory: p.memory,
      now,
    }),
  };
}
