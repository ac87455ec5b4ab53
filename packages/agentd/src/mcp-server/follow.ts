import { readSse } from "../api/read-sse.ts";

/** A file a reply sends, as the stream's `done` event names it. */
export interface ReplyFile {
  id: string;
  mime: string;
  size: number;
  name?: string;
}

/** Where following a turn stopped: the reply, a person's decision or action awaited, or the end without a reply. */
export type Stop =
  | { kind: "reply"; text: string; files: ReplyFile[] }
  | { kind: "approval"; id: string; tool: string; subject: string; always: string }
  | { kind: "handoff"; subject: string; link: string }
  | { kind: "no_worker"; message: string }
  | { kind: "failed"; message: string }
  | { kind: "ended"; status: string };

export interface Followed {
  stop: Stop;
  runId: string | null;
  sessionId: string | null;
}

export interface FollowOptions {
  /** Called with what a person would see as it happens: the reply's text as it streams, tools used. */
  progress: (message: string) => Promise<void>;
  /**
   * Events up to and including the approval with this id are passed over: following a run again
   * after that approval was decided shows only what came of the decision.
   */
  after?: string;
}

/**
 * Reads a turn's event stream (POST /v1/messages or GET /v1/runs/:id/stream) to its next stop: the
 * reply (`done`), an approval or a handoff a person must act on (the run waits durably; the stream
 * would stay open until then, so following stops here and says how to go on), no worker to run it,
 * or its end without a reply. The run goes on whatever the reader does.
 */
export async function followTurn(body: ReadableStream<Uint8Array>, o: FollowOptions): Promise<Followed> {
  let runId: string | null = null;
  let sessionId: string | null = null;
  let skipping = o.after !== undefined;
  const out = (stop: Stop): Followed => ({ stop, runId, sessionId });
  for await (const ev of readSse(body)) {
    const d = (ev.data ?? {}) as Record<string, unknown>;
    const str = (k: string) => (typeof d[k] === "string" ? (d[k] as string) : "");
    if (ev.event === "accepted") {
      runId = str("runId") || null;
      sessionId = str("sessionId") || null;
      continue;
    }
    if (ev.event === "done") return out({ kind: "reply", text: str("text"), files: files(d.files) });
    if (ev.event === "error") return out({ kind: "failed", message: str("message") || "the turn failed" });
    if (ev.event === "end") return out({ kind: "ended", status: str("status") || "unknown" });
    if (ev.event === "waiting" && d.code === "no_worker") return out({ kind: "no_worker", message: str("message") });
    if (skipping) {
      if (ev.event === "approval" && d.id === o.after) skipping = false;
      continue;
    }
    switch (ev.event) {
      case "text":
        await o.progress(str("d"));
        break;
      case "start":
        // A second attempt of the same model call: the text streamed so far is void.
        if (Number(d.attempt) > 1) await o.progress(`\n(the model call failed; trying again, attempt ${d.attempt})\n`);
        break;
      case "tool":
        await o.progress(`\n[${str("name")}] ${str("subject")}\n`);
        break;
      case "unavailable":
        await o.progress(`\n${str("text")}\n`);
        break;
      case "approval":
        return out({
          kind: "approval",
          id: str("id"),
          tool: str("tool"),
          subject: str("subject"),
          always: str("always") || `every call of ${str("tool")}`,
        });
      case "handoff":
        return out({ kind: "handoff", subject: str("subject"), link: str("link") });
    }
  }
  return out({ kind: "ended", status: "unknown" });
}

function files(v: unknown): ReplyFile[] {
  if (!Array.isArray(v)) return [];
  return v.filter(
    (f): f is ReplyFile => typeof f === "object" && f !== null && typeof (f as ReplyFile).id === "string",
  );
}
