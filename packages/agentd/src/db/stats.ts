import type { DbStats } from "./types.ts";

const writing = new Map<string, boolean>();

/** Whether a statement writes: outside a transaction, it is then a commit (a disk flush) of its own. */
function writes(sql: string): boolean {
  let w = writing.get(sql);
  if (w === undefined) {
    w =
      /^\s*(INSERT|UPDATE|DELETE)\b/i.test(sql) || (/^\s*WITH\b/i.test(sql) && /\b(INSERT|UPDATE|DELETE)\b/i.test(sql));
    if (writing.size < 2_000) writing.set(sql, w);
  }
  return w;
}

/** Counts one statement sent to the database; `inTx`: inside an explicit transaction, whose COMMIT counts instead. */
export function countStatement(stats: DbStats, sql: string, inTx: boolean): void {
  stats.statements++;
  if (!inTx && writes(sql)) stats.commits++;
}

export const noStats = (): DbStats => ({ statements: 0, transactions: 0, commits: 0 });
