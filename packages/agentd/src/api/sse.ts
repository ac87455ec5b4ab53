import { KernelError } from "@agentd/kernel";
import type { Agentd } from "../app.ts";
import { noWorkerFor } from "../health/report.ts";
import { eventStream } from "./event-stream.ts";
import type { Redactor, Released } from "../vault/redact.ts";

const EVENT_NAME = /^[a-z_]{1,32}$/;

/** One SSE frame; `id` is set for stream chunks only, so Last-Event-ID always names a stream offset. */
export function frame(event: string, data: unknown, id?: number): string {
  return `${id === undefined ? "" : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export interface RunEventsOptions {
  runId: string;
  /** First stream offset to send. */
  from: number;
  /** The request's signal: a client that leaves stops the subscription. */
  signal: AbortSignal;
  redact: Redactor;
  /** Frames sent before the run's chunks (the `accepted` event of POST /v1/messages). */
  before?: string;
  status?: number;
}

/**
 * A run's stream as Server-Sent Events: each chunk `{ t, ... }` becomes `event: <t>`,
 * `data: <chunk as JSON>`, `id: <offset>`. When no live worker executes the run, `event: waiting`
 * (`{ code: "no_worker", message }`) says so first. It ends after a `done` chunk; or, when the run ends
 * without one, with `event: end` (`{ status }`) or `event: error` (`{ code, message }`) if it failed.
 */
export function runEvents(app: Agentd, o: RunEventsOptions): Response {
  return eventStream(
    o.signal,
    async (send, stop) => {
      try {
        if (o.before) send(o.before);
        const stalled = await noOneToRun(app, o.runId);
        if (stalled) send(frame("waiting", { code: "no_worker", message: stalled }));
        let done = false;
        const text = textFrames(o.redact);
        for await (const chunk of app.kernel.subscribe<{ t?: unknown; d?: unknown }>(o.runId, {
          from: o.from,
          signal: stop,
        })) {
          if (chunk.data?.t === "text" && typeof chunk.data.d === "string") {
            send(text.push(chunk.data.d, chunk.offset));
            continue;
          }
          send(text.flush());
          const data = o.redact.deep(chunk.data);
          const t =
            data && typeof data === "object" && typeof data.t === "string" && EVENT_NAME.test(data.t)
              ? data.t
              : "chunk";
          send(frame(t, data, chunk.offset));
          if (t === "done") {
            done = true;
            break;
          }
        }
        send(text.flush());
        if (!done && !stop.aborted) send(await ending(app, o.runId, o.redact));
      } catch (e) {
        const known = KernelError.is(e);
        send(
          frame("error", {
            code: known ? e.code : "internal",
            message: known ? e.message : "the stream failed; reconnect with Last-Event-ID to resume",
          }),
        );
      }
    },
    o.status,
  );
}

/** Why a run that has not ended will not move, when no live worker executes its workflow; else null. */
async function noOneToRun(app: Agentd, runId: string): Promise<string | null> {
  const run = await app.kernel.getRun(runId);
  if (!run || run.status === "completed" || run.status === "failed" || run.status === "cancelled") return null;
  // This process's worker serves it: no need to read every process's heartbeat.
  if (app.kernel.worker?.running && app.kernel.registry.get(run.workflow)) return null;
  return noWorkerFor(app, run.workflow);
}

/**
 * The model's text as `text` frames, redacted across the places it was cut into tokens: a secret
 * split over two chunks is held back until it is whole. A frame carries the text of whole chunks
 * and the offset of the last, so Last-Event-ID resumes after exactly what was shown.
 */
function textFrames(redact: Redactor) {
  const stream = redact.stream();
  const offsets: number[] = [];
  const out = (r: Released) => {
    if (r.pieces === 0) return "";
    const id = offsets[r.pieces - 1];
    offsets.splice(0, r.pieces);
    return r.text ? frame("text", { t: "text", d: r.text }, id) : "";
  };
  return {
    push: (d: string, offset: number) => {
      offsets.push(offset);
      return out(stream.push(d));
    },
    flush: () => out(stream.flush()),
  };
}

/** The last frame of a stream that ended without `done`: how its run ended. */
async function ending(app: Agentd, runId: string, redact: Redactor): Promise<string> {
  const run = await app.kernel.getRun(runId);
  if (run?.status === "failed")
    return frame("error", {
      code: "run_failed",
      status: run.status,
      message: redact.text(run.error?.message ?? "the run failed"),
    });
  if (run?.status === "cancelled")
    return frame("error", { code: "run_cancelled", status: run.status, message: `run ${runId} was cancelled` });
  return frame("end", { status: run?.status ?? "unknown" });
}
