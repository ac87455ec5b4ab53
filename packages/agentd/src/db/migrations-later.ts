import { big, type Migration } from "./migration.ts";

/** The OS tables' migrations from version 8 on (schema.ts lists them after the first seven); append the next here. */
export const LATER_MIGRATIONS: Migration[] = [
  {
    // SSH (ssh/): a tenant's hosts with their pinned host key fingerprints, and its keys' public
    // halves; private keys, passphrases and tunnel tokens are in the vault, never here.
    version: 8,
    sql: (d) => `
CREATE TABLE os_ssh_hosts (tenant_id TEXT NOT NULL REFERENCES os_tenants(id) ON DELETE CASCADE, name TEXT NOT NULL, address TEXT NOT NULL,
  port INTEGER NOT NULL, username TEXT NOT NULL, key_name TEXT NOT NULL, fingerprint TEXT, pending_fingerprint TEXT, tunnel_url TEXT,
  idempotent TEXT NOT NULL DEFAULT '[]', created_at ${big(d)} NOT NULL, updated_at ${big(d)} NOT NULL, PRIMARY KEY (tenant_id, name));
CREATE TABLE os_ssh_keys (tenant_id TEXT NOT NULL REFERENCES os_tenants(id) ON DELETE CASCADE, name TEXT NOT NULL, public_key TEXT NOT NULL,
  origin TEXT NOT NULL, created_at ${big(d)} NOT NULL, PRIMARY KEY (tenant_id, name));
`,
  },
  {
    // The dashboard's sign-ins (api/sessions.ts): only a hash of the cookie's value is kept, with the
    // hash of the credential it was made from, so a revoked key or a changed admin token ends them.
    version: 9,
    sql: (d) => `
CREATE TABLE os_browser_sessions (id_hash TEXT PRIMARY KEY, kind TEXT NOT NULL, tenant_id TEXT REFERENCES os_tenants(id) ON DELETE CASCADE,
  credential_hash TEXT NOT NULL, csrf TEXT NOT NULL, created_at ${big(d)} NOT NULL, expires_at ${big(d)} NOT NULL);
CREATE INDEX os_browser_sessions_expiry ON os_browser_sessions(expires_at);
`,
  },
  {
    // A tenant's MCP servers (mcp/servers.ts): the definition as JSON (secrets by reference to the
    // vault, never their values), one name per tenant (it is the middle part of its tools' names).
    version: 10,
    sql: (d) => `
CREATE TABLE os_mcp_servers (tenant_id TEXT NOT NULL REFERENCES os_tenants(id) ON DELETE CASCADE, name TEXT NOT NULL,
  transport TEXT NOT NULL, config TEXT NOT NULL, enabled INTEGER NOT NULL, created_at ${big(d)} NOT NULL, updated_at ${big(d)} NOT NULL,
  PRIMARY KEY (tenant_id, name));
`,
  },
  {
    // OAuth connections (connections/): one row per connection of a tenant (its tokens live in the
    // vault, never here), a lease for the one refresh in flight, and the authorizations a person has
    // been sent a link for: the callback finds one by the hash of its state, before any tenant is known.
    version: 11,
    sql: (d) => `
CREATE TABLE os_connections (tenant_id TEXT NOT NULL REFERENCES os_tenants(id) ON DELETE CASCADE, name TEXT NOT NULL,
  app TEXT NOT NULL, account TEXT, status TEXT NOT NULL, scope TEXT, expires_at ${big(d)}, version ${big(d)} NOT NULL,
  lease_until ${big(d)}, lease_owner TEXT, created_at ${big(d)} NOT NULL, updated_at ${big(d)} NOT NULL,
  PRIMARY KEY (tenant_id, name));
CREATE TABLE os_oauth_pending (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES os_tenants(id) ON DELETE CASCADE,
  state_hash TEXT NOT NULL UNIQUE, connection TEXT NOT NULL, app TEXT NOT NULL, run_id TEXT, session_id TEXT,
  status TEXT NOT NULL, created_at ${big(d)} NOT NULL, expires_at ${big(d)} NOT NULL);
CREATE INDEX os_oauth_pending_tenant ON os_oauth_pending(tenant_id, created_at);
`,
  },
  {
    // One OAuth refresh at a time per credential across every process (connections/lease.ts): an MCP
    // server's rotating refresh token is spent once, by whoever holds the lease.
    version: 12,
    sql: (d) => `
CREATE TABLE os_oauth_leases (tenant_id TEXT NOT NULL REFERENCES os_tenants(id) ON DELETE CASCADE, name TEXT NOT NULL,
  owner TEXT NOT NULL, until ${big(d)} NOT NULL, PRIMARY KEY (tenant_id, name));
`,
  },
  {
    // Serverless (serverless/tick.ts): when the platform's cron last called the tick and when
    // retention last ran, so a tick that did not complete (a cron missed, failing or killed) is said, not silent.
    version: 13,
    sql: (d) => `
CREATE TABLE os_ticks (name TEXT PRIMARY KEY, last_at ${big(d)} NOT NULL, count ${big(d)} NOT NULL);
`,
  },
  {
    // Text read from media (media/texts.ts): a voice note's transcript by the hash of its bytes, so
    // a message delivered again after a crash is not transcribed (nor paid for) twice.
    version: 14,
    sql: (d) => `
CREATE TABLE os_media_texts (tenant_id TEXT NOT NULL REFERENCES os_tenants(id) ON DELETE CASCADE, sha256 TEXT NOT NULL,
  kind TEXT NOT NULL, text TEXT NOT NULL, created_at ${big(d)} NOT NULL, PRIMARY KEY (tenant_id, sha256, kind));
`,
  },
  {
    // Statements that read every tenant's rows for a few (bench/agent-scale.ts): partial indexes hold
    // only what they look for. Messages that never got a turn (recovery at each start), parts held
    // for WhatsApp's window (looked for at each message of a person), approvals waiting and today's
    // usage (/metrics). A message leaves the first as its turn starts, a part the second as it is taken.
    version: 15,
    sql: () => `
CREATE INDEX os_messages_unstarted ON os_messages(tenant_id, seq) WHERE run_id IS NULL AND role <> 'assistant';
CREATE INDEX os_outbox_held ON os_outbox(tenant_id, channel, conversation) WHERE status = 'held';
CREATE INDEX os_approvals_waiting ON os_approvals(created_at) WHERE status = 'pending';
CREATE INDEX os_usage_day ON os_usage(day);
`,
  },
  {
    // Tenants' outgoing webhooks (webhooks/): where to post which events (the signing secret is in the
    // vault), and each delivery once by its id (the receiver's replay-safe webhook-id) with its attempts.
    version: 16,
    sql: (d) => `
CREATE TABLE os_webhooks (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES os_tenants(id) ON DELETE CASCADE,
  url TEXT NOT NULL, events TEXT NOT NULL, created_at ${big(d)} NOT NULL);
CREATE INDEX os_webhooks_tenant ON os_webhooks(tenant_id, created_at);
CREATE TABLE os_webhook_deliveries (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES os_tenants(id) ON DELETE CASCADE,
  webhook_id TEXT NOT NULL, event TEXT NOT NULL, payload TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,
  last_status INTEGER, last_error TEXT, created_at ${big(d)} NOT NULL, updated_at ${big(d)} NOT NULL);
CREATE INDEX os_webhook_deliveries_hook ON os_webhook_deliveries(tenant_id, webhook_id, created_at);
`,
  },
  {
    // Quotas admitted in one round trip (tenancy/quotas.ts): one pass of its admitPass as a function,
    // whose statements each read a snapshot of their own start, so that after the tenant's lock they see
    // what the transaction that held it before committed. Arguments: the tenant, the new admission's id,
    // now (ms), this second, the first second out of the window, when an unbound admission is stale,
    // whether the tenant's stored settings give the limits (read under the lock), the two limits (the
    // defaults then), the runs that ended and those waiting. SQLite runs the same steps in a transaction.
    version: 17,
    sql: (d) =>
      d === "sqlite"
        ? ""
        : `
CREATE FUNCTION os_admit(a_tenant TEXT, a_id TEXT, a_now BIGINT, a_second BIGINT, a_since BIGINT, a_stale BIGINT,
  a_stored BOOLEAN, a_per_minute BIGINT, a_concurrent BIGINT, a_ended TEXT[], a_waiting TEXT[]) RETURNS json LANGUAGE plpgsql AS $$
DECLARE
  v_settings json;
  v_limits json;
  v_hits json;
  v_total BIGINT;
  v_busy BIGINT;
  v_runs json;
BEGIN
  SELECT t.settings::json INTO v_settings FROM os_tenants t WHERE t.id = a_tenant FOR UPDATE;
  IF NOT FOUND THEN
    RETURN json_build_object('missing', true);
  END IF;
  IF a_stored THEN
    a_per_minute := coalesce((v_settings->>'runsPerMinute')::bigint, a_per_minute);
    a_concurrent := coalesce((v_settings->>'concurrentRuns')::bigint, a_concurrent);
  END IF;
  v_limits := json_build_object('runsPerMinute', a_per_minute, 'concurrentRuns', a_concurrent);
  SELECT coalesce(sum(r.n), 0), coalesce(json_agg(json_build_object('second', r.second, 'n', r.n) ORDER BY r.second), '[]')
    INTO v_total, v_hits FROM os_rate r WHERE r.tenant_id = a_tenant AND r.second > a_since;
  IF v_total >= a_per_minute THEN
    RETURN json_build_object('limits', v_limits, 'hits', v_hits);
  END IF;
  DELETE FROM os_admissions a WHERE a.tenant_id = a_tenant AND ((a.run_id IS NULL AND a.at <= a_stale) OR a.run_id = ANY(a_ended));
  SELECT count(*), coalesce(json_agg(a.run_id) FILTER (WHERE a.run_id IS NOT NULL), '[]') INTO v_busy, v_runs
    FROM os_admissions a WHERE a.tenant_id = a_tenant AND (a.run_id IS NULL OR NOT a.run_id = ANY(a_waiting));
  IF v_busy >= a_concurrent THEN
    RETURN json_build_object('limits', v_limits, 'busy', v_busy, 'runs', v_runs);
  END IF;
  DELETE FROM os_rate r WHERE r.tenant_id = a_tenant AND r.second <= a_since;
  INSERT INTO os_rate (tenant_id, second, n) VALUES (a_tenant, a_second, 1)
    ON CONFLICT (tenant_id, second) DO UPDATE SET n = os_rate.n + 1;
  INSERT INTO os_admissions (id, tenant_id, at) VALUES (a_id, a_tenant, a_now);
  RETURN json_build_object('limits', v_limits, 'ok', true);
END $$;
`,
  },
  {
    // A session's id names its tenant, but Postgres multiplies the two filters' selectivities: it took a
    // session's messages for one row and could read them all and sort them instead of walking the index
    // to the turn's window (test/sessions/plans.test.ts). Its statistics of the dependency, built by
    // ANALYZE, put the estimate at the session's size. SQLite's planner does not estimate so.
    version: 18,
    sql: (d) =>
      d === "sqlite"
        ? ""
        : "CREATE STATISTICS os_messages_session_deps (dependencies) ON tenant_id, session_id FROM os_messages;",
  },
];
