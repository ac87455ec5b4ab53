import type { Duration, RetryPolicy } from "@agentd/kernel";
import type { BlobStore } from "../blobs/types.ts";
import type { MemoryStore } from "../memory/store.ts";
import type { Tenants } from "../tenancy/tenants.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import type { ToolRegistry } from "../tools/registry.ts";
import type { ToolServices } from "../tools/types.ts";
import type { SecretReader } from "../vault/reader.ts";
import type { Deliveries } from "../channels/ports.ts";
import type { Speaker } from "../media/speech.ts";
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
  /** How long a person has to approve a call or finish a handoff. */
  approvalTimeout: Duration;
  /** Where links to this agentd point (a handoff's live view): AGENTD_PUBLIC_URL, else its listening address. */
  links: { base: string };
  /** How long a call waits for a person to connect an app (AGENTD_CONNECT_TIMEOUT; the approval timeout when unset). */
  connectTimeout?: Duration;
  modelRetry: RetryPolicy;
  /** Replies spoken as voice notes for tenants that ask for it (media/speech.ts); absent: text only. */
  speech?: Pick<Speaker, "wanted" | "speak">;
}
