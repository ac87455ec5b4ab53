import { createHash } from "node:crypto";
import type { TenantScope } from "../tenancy/scope.ts";

export type TextKind = "transcript";

export const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

/**
 * Text read from a tenant's media, by the hash of the bytes: what was paid for once (a transcript)
 * is found again when the same file comes back (a message delivered again after a crash, the same
 * voice note forwarded), instead of being sent to the provider a second time.
 */
export const mediaTexts = {
  async get(scope: TenantScope, hash: string, kind: TextKind): Promise<string | null> {
    const r = await scope.get<{ text: string }>(
      "SELECT text FROM os_media_texts WHERE tenant_id = $tenant AND sha256 = ? AND kind = ?",
      [hash, kind],
    );
    return r ? r.text : null;
  },

  async put(scope: TenantScope, hash: string, kind: TextKind, text: string, now: number): Promise<void> {
    await scope.run(
      "INSERT INTO os_media_texts (tenant_id, sha256, kind, text, created_at) VALUES ($tenant, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
      [hash, kind, text, now],
    );
  },
};
