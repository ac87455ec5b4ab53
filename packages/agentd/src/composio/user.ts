/**
 * A tenant's user at Composio: derived from the tenant's id (random, never reused), so two tenants
 * never share one, and no tenant can name another's. Every account, link and execution is this user's.
 */
export const composioUserId = (tenantId: string): string => `agentd-${tenantId}`;
