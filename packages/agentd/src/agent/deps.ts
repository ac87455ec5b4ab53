import type { Duration, RetryPolicy } from "@agentd/kernel";
import type { BlobStore } from "../blobs/types.ts";
import type { MemoryStore } from "../memory/store.ts";
import type { Tenants } from "../tenancy/tenants.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import type { ToolRegistry } from "../tools/registry.ts";
import type { ToolServices } from "../tools/types.ts";
import type { SecretReader } from "../vault/reader.ts";
import type { Deliveries } from "../channels/ports.ts";
import type { Models } from "./model.ts";

/** The vault as the agent loop sees it: readers for tools, values for redaction. */
export interface SecretsPort {
  reader(scope: TenantScope): SecretReader;
  values(scope: TenantScope): Promise<string[]>;
}

/** Everything a turn needs, wired once by the app. */
export interface AgentDeps {
  /** The kernel's clock: fake in tests, so timers, approvals' expiry and "now" in prompts move together. */
  now: () => number;
  tenants: Tenants;
  models: Models | null;
  tools: ToolRegistry;
  services: ToolServices;
  secrets: SecretsPort;
  memory: MemoryStore;
  /** Where replies, approval requests and notices go out (the channels' port). */
  channels: Deliveries;
  /** Where photos and voice notes live: images are read from here at model-call time, never journaled. */
  blobs: BlobStore;
  /** Messages kept in the model's context (older ones live on in the summary and in memory). */
  historyWindow: number;
  /** Messages beyond the window that trigger a compaction (folding them into the summary). */
  compactAfter: number;
  approvalTimeout: Duration;
  modelRetry: RetryPolicy;
}
