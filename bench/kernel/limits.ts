import type { StoreFactory } from "../shared.ts";
import { CFG } from "./config.ts";
import { emit, note } from "./harness.ts";
import type { Figures } from "./ratios.ts";

// ---- 8. the store's own limits --------------------------------------------------------------------

export async function limits(factory: StoreFactory, figures: Figures): Promise<void> {
  const l = await factory.limits({ ...CFG.limits, batchRows: CFG.throughput.runs * CFG.throughput.steps });
  figures.limits = l;
  emit("store_commit_latency_ms", { ...l.commitMs, ...l.details, what: l.whatCommit });
  emit("store_batched_insert_rows_per_s", {
    value: l.batchedRowsPerSec,
    min: l.batchedRowsPerSecRange[0],
    max: l.batchedRowsPerSecRange[1],
    reps: CFG.limits.batchReps,
    batch_size: CFG.limits.batchSize,
    rows: CFG.throughput.runs * CFG.throughput.steps,
    row_bytes: l.rowBytes,
    ...l.details,
    what: l.whatBatched,
  });
  for (const r of l.insertRates ?? []) {
    emit("store_insert_tps", {
      connections: r.connections,
      value: r.tps,
      latency_p50_ms: r.latency.p50,
      latency_p99_ms: r.latency.p99,
      seconds: r.seconds,
      what:
        `raw pg client, pgbench-style: ${r.connections} connection(s), each looping one autocommit INSERT of a journal-entry row ` +
        "(prepared) into the kernel's entries table; transactions per second",
    });
  }
  note(
    `store limits: commit p50 ${l.commitMs.p50.toFixed(3)} ms, p99 ${l.commitMs.p99.toFixed(3)} ms; ` +
      `batched inserts ${l.batchedRowsPerSec.toFixed(0)} rows/s` +
      (l.insertRates ?? []).map((r) => `; ${r.connections} conn: ${r.tps.toFixed(0)} inserts/s`).join(""),
  );
}
