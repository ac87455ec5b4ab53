import { newId } from "../ids.ts";
import { badRequest } from "../errors.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import { cosine, fts5Query, ftsText, queryTerms, tsQuery } from "./query.ts";

/** One long-term memory of a tenant. Times are epoch milliseconds. */
export interface MemoryEntry {
  id: string;
  content: string;
  /** Who wrote it: "agent" (a tool call), "extract" (facts kept when history is trimmed), "user", … */
  source: string;
  /** When a note becomes due (a reminder note), else null. */
  dueAt: number | null;
  doneAt: number | null;
  createdAt: number;
  /** Relevance in [0, 1], on search results only. */
  score?: number;
}

export interface NewMemory {
  content: string;
  source?: string;
  dueAt?: number | null;
  embedding?: readonly number[] | null;
  /** Makes the add idempotent: a second add with the same key (a replayed tool call) returns the first entry. */
  key?: string | null;
}

interface Row {
  id: string;
  content: string;
  source: string;
  due_at: number | null;
  done_at: number | null;
  created_at: number;
  embedding?: string | null;
  /** Text rank, larger is better. */
  tr?: number;
}

export const MAX_MEMORY_CHARS = 4000;
const COLS = "m.id, m.content, m.source, m.due_at, m.done_at, m.created_at";
/** How much of a blended score comes from the text rank; the rest is cosine similarity. */
const TEXT_WEIGHT = 0.5;

/**
 * A tenant's long-term memory: entries with full-text search (FTS5 on SQLite, tsvector on
 * Postgres) and, when the caller has an embedding of the query, a blend of text rank and cosine
 * similarity. Every method goes through the tenant's scope, so one tenant never sees another's.
 */
export class MemoryStore {
  readonly #now: () => number;
  readonly #recent: number;

  /** `recentCandidates`: how many of the newest embedded entries a semantic search also considers. */
  constructor(opts: { now?: () => number; recentCandidates?: number } = {}) {
    this.#now = opts.now ?? Date.now;
    this.#recent = opts.recentCandidates ?? 500;
  }

  async add(scope: TenantScope, m: NewMemory): Promise<MemoryEntry> {
    const content = m.content.trim();
    if (content.length < 1 || content.length > MAX_MEMORY_CHARS)
      throw badRequest(
        `a memory holds 1 to ${MAX_MEMORY_CHARS} characters; this one has ${content.length}: shorten it or split it in several`,
      );
    if (m.dueAt != null && !Number.isFinite(m.dueAt)) throw badRequest("dueAt must be a time in epoch milliseconds");
    if (m.embedding && !m.embedding.every(Number.isFinite)) throw badRequest("an embedding must be finite numbers");
    const e: MemoryEntry = {
      id: newId("mem"),
      content,
      source: m.source ?? "agent",
      dueAt: m.dueAt ?? null,
      doneAt: null,
      createdAt: this.#now(),
    };
    const ins = await scope.tx(async (tx) => {
      const r = await tx.run(
        "INSERT INTO os_memories (id, tenant_id, content, source, due_at, embedding, created_at, idem_key) VALUES (?, $tenant, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [
          e.id,
          e.content,
          e.source,
          e.dueAt,
          m.embedding?.length ? JSON.stringify(m.embedding) : null,
          e.createdAt,
          m.key ?? null,
        ],
      );
      // SQLite's index holds tagged words (query.ts); a trigger removes them with the row.
      if (r.changes > 0 && tx.dialect === "sqlite")
        await tx.run(
          "INSERT INTO os_memories_fts (rowid, terms) SELECT rid, ? FROM os_memories WHERE tenant_id = $tenant AND id = ?",
          [ftsText(scope.tenantId, e.content), e.id],
        );
      return r;
    });
    if (ins.changes === 0 && m.key) {
      const first = await scope.get<{ id: string }>(
        "SELECT id FROM os_memories WHERE tenant_id = $tenant AND idem_key = ?",
        [m.key],
      );
      if (first) return (await this.get(scope, first.id)) as MemoryEntry;
    }
    return e;
  }

  /**
   * Entries matching any word of the query, best first. With `embedding` (the query's, from the
   * same model as the entries'), the newest embedded entries are candidates too and the score
   * blends text rank and cosine similarity, so a paraphrase with no shared word is still found.
   */
  async search(
    scope: TenantScope,
    query: string,
    opts: { limit?: number; embedding?: readonly number[] | null } = {},
  ): Promise<MemoryEntry[]> {
    const limit = clampLimit(opts.limit, 10);
    const vector = opts.embedding?.length ? opts.embedding : null;
    const hits = await this.#textHits(
      scope,
      queryTerms(query),
      vector ? Math.max(limit * 5, 50) : limit,
      vector !== null,
    );
    const best = Math.max(0, ...hits.map((h) => h.tr ?? 0));
    const text = new Map(hits.map((h) => [h.id, best > 0 ? (h.tr ?? 0) / best : 1]));
    if (!vector) return hits.map((h) => toEntry(h, round(text.get(h.id) ?? 0)));

    const recent = await scope.all<Row>(
      `SELECT ${COLS}, m.embedding FROM os_memories m WHERE m.tenant_id = $tenant AND m.embedding IS NOT NULL ORDER BY m.created_at DESC, m.rid DESC LIMIT ?`,
      [this.#recent],
    );
    const candidates = new Map<string, Row>();
    for (const r of [...hits, ...recent]) if (!candidates.has(r.id)) candidates.set(r.id, r);
    const scored = [...candidates.values()].map((r) => {
      const sim = r.embedding ? Math.max(0, cosine(vector, parseVector(r.embedding))) : 0;
      return toEntry(r, round(TEXT_WEIGHT * (text.get(r.id) ?? 0) + (1 - TEXT_WEIGHT) * sim));
    });
    return scored
      .filter((e) => (e.score ?? 0) > 0)
      .sort((a, b) => (b.score ?? 0) - (a.score ?? 0) || b.createdAt - a.createdAt)
      .slice(0, limit);
  }

  /** Full-text hits with `tr` larger-is-better (bm25 is smaller-is-better, so it is negated). */
  async #textHits(scope: TenantScope, terms: string[], limit: number, withEmbedding: boolean): Promise<Row[]> {
    if (terms.length === 0) return [];
    const emb = withEmbedding ? ", m.embedding" : "";
    if (scope.dialect === "sqlite")
      return scope.all<Row>(
        `SELECT ${COLS}${emb}, -bm25(os_memories_fts) AS tr FROM os_memories_fts JOIN os_memories m ON m.rid = os_memories_fts.rowid
         WHERE os_memories_fts MATCH ? AND m.tenant_id = $tenant ORDER BY tr DESC, m.created_at DESC LIMIT ?`,
        [fts5Query(scope.tenantId, terms), limit],
      );
    // The tenant's own entries first, then their matches ranked. The full-text index holds every tenant's
    // words, and a planner that picked it for common words read all tenants' matches (136 ms at 100,000
    // entries of 1,000 tenants, bench/agent-scale.ts); a recall reads its tenant's entries, whatever others hold.
    return scope.all<Row>(
      `WITH mine AS MATERIALIZED (SELECT ${COLS}${emb}, m.tsv FROM os_memories m WHERE m.tenant_id = $tenant)
       SELECT ${COLS}${emb}, ts_rank(m.tsv, q) AS tr FROM mine m, to_tsquery('simple', ?) q
       WHERE m.tsv @@ q ORDER BY tr DESC, m.created_at DESC LIMIT ?`,
      [tsQuery(terms), limit],
    );
  }

  /** Newest first; `before` is the id of the last entry of the previous page. */
  async list(scope: TenantScope, opts: { limit?: number; before?: string | null } = {}): Promise<MemoryEntry[]> {
    const limit = clampLimit(opts.limit, 50);
    const rows = opts.before
      ? await scope.all<Row>(
          `SELECT ${COLS} FROM os_memories m WHERE m.tenant_id = $tenant
           AND m.rid < (SELECT b.rid FROM os_memories b WHERE b.id = ? AND b.tenant_id = $tenant) ORDER BY m.rid DESC LIMIT ?`,
          [opts.before, limit],
        )
      : await scope.all<Row>(
          `SELECT ${COLS} FROM os_memories m WHERE m.tenant_id = $tenant ORDER BY m.rid DESC LIMIT ?`,
          [limit],
        );
    return rows.map((r) => toEntry(r));
  }

  async get(scope: TenantScope, id: string): Promise<MemoryEntry | null> {
    const r = await scope.get<Row>(`SELECT ${COLS} FROM os_memories m WHERE m.tenant_id = $tenant AND m.id = ?`, [id]);
    return r ? toEntry(r) : null;
  }

  /** Deletes an entry; false when the tenant has none with this id. */
  async forget(scope: TenantScope, id: string): Promise<boolean> {
    return (await scope.run("DELETE FROM os_memories WHERE tenant_id = $tenant AND id = ?", [id])).changes > 0;
  }

  /** Notes whose time has come and that are not done yet, oldest due first. */
  async due(scope: TenantScope, now: number, limit = 100): Promise<MemoryEntry[]> {
    const rows = await scope.all<Row>(
      `SELECT ${COLS} FROM os_memories m WHERE m.tenant_id = $tenant AND m.due_at IS NOT NULL AND m.due_at <= ? AND m.done_at IS NULL
       ORDER BY m.due_at, m.rid LIMIT ?`,
      [now, clampLimit(limit, 100)],
    );
    return rows.map((r) => toEntry(r));
  }

  /** Marks due notes done (those already done keep their time); returns how many changed. */
  async markDone(scope: TenantScope, ids: readonly string[], now: number): Promise<number> {
    if (ids.length === 0) return 0;
    const marks = ids.map(() => "?").join(", ");
    const r = await scope.run(
      `UPDATE os_memories SET done_at = ? WHERE tenant_id = $tenant AND done_at IS NULL AND id IN (${marks})`,
      [now, ...ids],
    );
    return r.changes;
  }

  async count(scope: TenantScope): Promise<number> {
    const r = await scope.get<{ n: number | string }>(
      "SELECT COUNT(*) AS n FROM os_memories WHERE tenant_id = $tenant",
    );
    return Number(r?.n ?? 0);
  }
}

function toEntry(r: Row, score?: number): MemoryEntry {
  const e: MemoryEntry = {
    id: r.id,
    content: r.content,
    source: r.source,
    dueAt: r.due_at == null ? null : Number(r.due_at),
    doneAt: r.done_at == null ? null : Number(r.done_at),
    createdAt: Number(r.created_at),
  };
  if (score !== undefined) e.score = score;
  return e;
}

/** A stored vector; a corrupt one counts as no vector rather than failing the whole search. */
function parseVector(s: string): number[] {
  try {
    const v: unknown = JSON.parse(s);
    return Array.isArray(v) ? (v as number[]) : [];
  } catch {
    return [];
  }
}

const clampLimit = (n: number | undefined, dflt: number) => Math.max(1, Math.min(500, Math.floor(n ?? dflt)));
const round = (x: number) => Math.round(x * 1000) / 1000;
