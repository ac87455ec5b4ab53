import type { TenantScope } from "./scope.ts";

/**
 * Inside a transaction: makes the tenant's other transactions that call this wait until it ends,
 * so a count checked against a limit is still true when the row it allows is written (quotas and
 * bounds hold across processes). SQLite transactions here begin IMMEDIATE and are serial already;
 * Postgres locks the tenant's row.
 */
export async function serializeTenant(tx: TenantScope): Promise<void> {
  if (tx.dialect === "postgres") await tx.run("SELECT id FROM os_tenants WHERE id = $tenant FOR UPDATE");
}
