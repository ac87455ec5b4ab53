import { ftsText } from "../memory/query.ts";
import { big, type Migration, serial } from "./migration.ts";
import { LATER_MIGRATIONS } from "./migrations-later.ts";

/**
 * The OS tables. Every row carries `tenant_id`; tenant-scoped code reaches them only through a
 * TenantScope (tenancy/scope.ts). Times are epoch milliseconds. Migrations are append-only:
 * never edit one that has shipped, add the next.
 */
export type { Migration } from "./migration.ts";

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    sql: (d) => `
CREATE TABLE os_tenants (id TEXT PRIMARY KEY, name TEXT NOT NULL, settings TEXT NOT NULL DEFAULT '{}', created_at ${big(d)} NOT NULL);
CREATE TABLE os_api_keys (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES os_tenants(id) ON DELETE CASCADE,
  hash TEXT NOT NULL UNIQUE, prefix TEXT NOT NULL, created_at ${big(d)} NOT NULL, revoked_at ${big(d)});
CREATE TABLE os_identities (channel TEXT NOT NULL, external_id TEXT NOT NULL, tenant_id TEXT NOT NULL REFERENCES os_tenants(id) ON DELETE CASCADE,
  display TEXT, created_at ${big(d)} NOT NULL, PRIMARY KEY (channel, external_id));
CREATE INDEX os_identities_tenant ON os_identities(tenant_id);
CREATE TABLE os_pairing_codes (code TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES os_tenants(id) ON DELETE CASCADE,
  expires_at ${big(d)} NOT NULL, used_at ${big(d)}, used_by TEXT);
CREATE TABLE os_secrets (tenant_id TEXT NOT NULL REFERENCES os_tenants(id) ON DELETE CASCADE, name TEXT NOT NULL, key_id TEXT NOT NULL,
  iv TEXT NOT NULL, tag TEXT NOT NULL, ciphertext TEXT NOT NULL, created_at ${big(d)} NOT NULL, updated_at ${big(d)} NOT NULL, PRIMARY KEY (tenant_id, name));
CREATE TABLE os_sessions (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES os_tenants(id) ON DELETE CASCADE, channel TEXT NOT NULL,
  conversation TEXT NOT NULL, summary TEXT NOT NULL DEFAULT '', summarized_seq ${big(d)} NOT NULL DEFAULT 0,
  created_at ${big(d)} NOT NULL, updated_at ${big(d)} NOT NULL, UNIQUE (tenant_id, channel, conversation));
CREATE TABLE os_messages (seq ${serial(d)}, id TEXT NOT NULL UNIQUE, tenant_id TEXT NOT NULL, session_id TEXT NOT NULL REFERENCES os_sessions(id) ON DELETE CASCADE,
  role TEXT NOT NULL, content TEXT NOT NULL, source_key TEXT, run_id TEXT, created_at ${big(d)} NOT NULL);
CREATE UNIQUE INDEX os_messages_source ON os_messages(session_id, source_key);
CREATE INDEX os_messages_session ON os_messages(tenant_id, session_id, seq);
CREATE TABLE os_memories (rid ${serial(d)}, id TEXT NOT NULL UNIQUE, tenant_id TEXT NOT NULL REFERENCES os_tenants(id) ON DELETE CASCADE,
  content TEXT NOT NULL, source TEXT NOT NULL DEFAULT 'agent', due_at ${big(d)}, done_at ${big(d)}, embedding TEXT, created_at ${big(d)} NOT NULL,
  idem_key TEXT
  ${d === "postgres" ? ", tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED" : ""});
CREATE INDEX os_memories_tenant ON os_memories(tenant_id, created_at);
CREATE UNIQUE INDEX os_memories_idem ON os_memories(tenant_id, idem_key);
CREATE INDEX os_memories_due ON os_memories(tenant_id, due_at) WHERE due_at IS NOT NULL AND done_at IS NULL;
${
  d === "sqlite"
    ? `CREATE VIRTUAL TABLE os_memories_fts USING fts5(content, content='os_memories', content_rowid='rid', tokenize='unicode61');
CREATE TRIGGER os_memories_ai AFTER INSERT ON os_memories BEGIN INSERT INTO os_memories_fts(rowid, content) VALUES (new.rid, new.content); END;
CREATE TRIGGER os_memories_ad AFTER DELETE ON os_memories BEGIN INSERT INTO os_memories_fts(os_memories_fts, rowid, content) VALUES ('delete', old.rid, old.content); END;
CREATE TRIGGER os_memories_au AFTER UPDATE OF content ON os_memories BEGIN
  INSERT INTO os_memories_fts(os_memories_fts, rowid, content) VALUES ('delete', old.rid, old.content);
  INSERT INTO os_memories_fts(rowid, content) VALUES (new.rid, new.content); END;`
    : "CREATE INDEX os_memories_tsv ON os_memories USING GIN (tsv);"
}
CREATE TABLE os_policies (tenant_id TEXT NOT NULL REFERENCES os_tenants(id) ON DELETE CASCADE, tool TEXT NOT NULL, pattern TEXT NOT NULL DEFAULT '',
  decision TEXT NOT NULL, created_at ${big(d)} NOT NULL, PRIMARY KEY (tenant_id, tool, pattern));
CREATE TABLE os_approvals (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES os_tenants(id) ON DELETE CASCADE, run_id TEXT NOT NULL,
  session_id TEXT, tool TEXT NOT NULL, args TEXT NOT NULL, call_hash TEXT NOT NULL, code TEXT NOT NULL, status TEXT NOT NULL,
  created_at ${big(d)} NOT NULL, expires_at ${big(d)} NOT NULL, decided_at ${big(d)}, decided_by TEXT);
CREATE INDEX os_approvals_pending ON os_approvals(tenant_id, status, created_at);
CREATE TABLE os_usage (tenant_id TEXT NOT NULL, day TEXT NOT NULL, tokens ${big(d)} NOT NULL DEFAULT 0, model_calls ${big(d)} NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, day));
CREATE TABLE os_jobs (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES os_tenants(id) ON DELETE CASCADE, kind TEXT NOT NULL,
  prompt TEXT NOT NULL, session_id TEXT, at ${big(d)}, cron TEXT, timezone TEXT, ref TEXT, status TEXT NOT NULL, created_at ${big(d)} NOT NULL);
CREATE INDEX os_jobs_tenant ON os_jobs(tenant_id, status);
`,
  },
  {
    // Channels: media in the blob store, a durable record of what was sent (the outbox), bots per tenant.
    version: 2,
    sql: (d) => `
ALTER TABLE os_messages ADD COLUMN attachments TEXT;
CREATE TABLE os_blobs (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES os_tenants(id) ON DELETE CASCADE, sha256 TEXT NOT NULL,
  mime TEXT NOT NULL, size ${big(d)} NOT NULL, name TEXT, source TEXT, created_at ${big(d)} NOT NULL);
CREATE INDEX os_blobs_tenant ON os_blobs(tenant_id, created_at);
CREATE TABLE os_outbox (tenant_id TEXT NOT NULL, key TEXT NOT NULL, part INTEGER NOT NULL, channel TEXT NOT NULL, conversation TEXT NOT NULL,
  external_id TEXT, status TEXT NOT NULL, detail TEXT, created_at ${big(d)} NOT NULL, updated_at ${big(d)} NOT NULL, PRIMARY KEY (tenant_id, key, part));
CREATE INDEX os_outbox_external ON os_outbox(channel, external_id);
CREATE TABLE os_channel_bots (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES os_tenants(id) ON DELETE CASCADE, kind TEXT NOT NULL,
  username TEXT, mode TEXT NOT NULL, config TEXT NOT NULL DEFAULT '{}', created_at ${big(d)} NOT NULL, updated_at ${big(d)} NOT NULL);
CREATE INDEX os_channel_bots_tenant ON os_channel_bots(tenant_id, kind);
`,
  },
  {
    // A bot's token may be added once in all of agentd: a unique index, so two adds at once can't both win.
    version: 3,
    sql: (d) => `
ALTER TABLE os_channel_bots ADD COLUMN token_hash TEXT;
UPDATE os_channel_bots SET token_hash = ${d === "sqlite" ? "json_extract(config, '$.tokenHash')" : "(config::jsonb)->>'tokenHash'"};
CREATE UNIQUE INDEX os_channel_bots_token ON os_channel_bots(kind, token_hash);
`,
  },
  {
    // Webhook deliveries already handled, by the provider's id (Twilio's MessageSid, WhatsApp's wamid):
    // a replay of a signed request is refused durably, before anything is downloaded or answered.
    // Channel transport state, read before any tenant is known: tenant_id is set when one is.
    version: 4,
    sql: (d) => `
CREATE TABLE os_inbound (channel TEXT NOT NULL, external_id TEXT NOT NULL, tenant_id TEXT, created_at ${big(d)} NOT NULL, PRIMARY KEY (channel, external_id));
CREATE INDEX os_inbound_created ON os_inbound(created_at);
`,
  },
  {
    // SQLite's full-text index scoped per tenant: words are indexed with their tenant's tag in front
    // (memory/query.ts), so a query reads its tenant's part of the index only and ranking counts
    // words per tenant. The index is rebuilt from the entries. Postgres ranks each row on its own.
    version: 5,
    sql: (d) =>
      d === "sqlite"
        ? `DROP TRIGGER os_memories_ai; DROP TRIGGER os_memories_ad; DROP TRIGGER os_memories_au; DROP TABLE os_memories_fts;
CREATE VIRTUAL TABLE os_memories_fts USING fts5(terms, content='', contentless_delete=1, tokenize='unicode61');
CREATE TRIGGER os_memories_ad AFTER DELETE ON os_memories BEGIN DELETE FROM os_memories_fts WHERE rowid = old.rid; END;`
        : "SELECT 1",
    after: async (db) => {
      if (db.dialect !== "sqlite") return;
      for (let after = -1; ; ) {
        const rows = await db.all<{ rid: number; tenant_id: string; content: string }>(
          "SELECT rid, tenant_id, content FROM os_memories WHERE rid > ? ORDER BY rid LIMIT 1000",
          [after],
        );
        for (const r of rows)
          await db.run("INSERT INTO os_memories_fts (rowid, terms) VALUES (?, ?)", [
            r.rid,
            ftsText(r.tenant_id, r.content),
          ]);
        if (rows.length < 1000) break;
        after = Number(rows.at(-1)?.rid);
      }
    },
  },
  {
    // Quotas counted in the store (tenancy/quotas.ts), so they hold across processes and restarts:
    // runs started per second over the last minute, and the runs admitted that have not ended.
    version: 6,
    sql: (d) => `
CREATE TABLE os_rate (tenant_id TEXT NOT NULL REFERENCES os_tenants(id) ON DELETE CASCADE, second ${big(d)} NOT NULL, n ${big(d)} NOT NULL,
  PRIMARY KEY (tenant_id, second));
CREATE TABLE os_admissions (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES os_tenants(id) ON DELETE CASCADE, run_id TEXT,
  at ${big(d)} NOT NULL);
CREATE INDEX os_admissions_tenant ON os_admissions(tenant_id, at);
`,
  },
  {
    // The web tools: a person taking over the browser (a login with 2FA) through a link whose token
    // is kept as a hash (tools/browser/handoffs.ts), and web_search's results cached per tenant,
    // provider and query, so a step retried on another worker does not pay for the query twice.
    version: 7,
    sql: (d) => `
CREATE TABLE os_handoffs (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES os_tenants(id) ON DELETE CASCADE, run_id TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE, reason TEXT NOT NULL, status TEXT NOT NULL, created_at ${big(d)} NOT NULL, expires_at ${big(d)} NOT NULL,
  finished_at ${big(d)});
CREATE INDEX os_handoffs_tenant ON os_handoffs(tenant_id, created_at);
CREATE TABLE os_search_cache (tenant_id TEXT NOT NULL REFERENCES os_tenants(id) ON DELETE CASCADE, key TEXT NOT NULL, value TEXT NOT NULL,
  expires_at ${big(d)} NOT NULL, PRIMARY KEY (tenant_id, key));
CREATE INDEX os_search_cache_expiry ON os_search_cache(expires_at);
`,
  },
  ...LATER_MIGRATIONS,
];
