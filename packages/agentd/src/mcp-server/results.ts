import type { CallToolResult } from "@modelcontextprotocol/server";
import type { Followed } from "./follow.ts";

/** A tool's answer as text. */
export function text(s: string, isError = false): CallToolResult {
  return { content: [{ type: "text", text: s }], ...(isError ? { isError: true } : {}) };
}

/** A tool's answer as JSON text, its times as ISO 8601 in UTC (a model reads them; it misreads epoch milliseconds). */
export function json(value: unknown): CallToolResult {
  return text(JSON.stringify(isoTimes(value), null, 2));
}

const TIME_KEY = /(?:At|^at)$/;

/** Epoch-millisecond times (`createdAt`, `at`, `next`, …) as ISO 8601 strings in UTC, everything else kept. */
export function isoTimes(value: unknown, key = ""): unknown {
  if (Array.isArray(value)) return value.map((v) => isoTimes(v, key === "next" ? "nextAt" : ""));
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, isoTimes(v, k)]));
  if (typeof value === "number" && TIME_KEY.test(key) && Number.isFinite(value) && value > 0)
    return new Date(value).toISOString();
  return value;
}

/** What following a turn came to, in words for the client's model, with how to go on when a person must act. */
export function stopResult(f: Followed): CallToolResult {
  const ref = f.runId ? `\n\n(run ${f.runId}${f.sessionId ? `, session ${f.sessionId}` : ""})` : "";
  const s = f.stop;
  switch (s.kind) {
    case "reply": {
      const files = s.files.map((x) => `\n[file] ${x.name ?? x.id} (${x.mime}, ${x.size} bytes): /v1/blobs/${x.id}`);
      return text(`${s.text}${files.join("")}${ref}`);
    }
    case "approval":
      return text(
        `The agent waits for a person to approve a call of ${s.tool}: ${s.subject}\n` +
          `Decide with decide_approval, id "${s.id}" and decision "once" (this call), "always" (allows ${s.always} from now on) ` +
          `or "deny"; it answers with the rest of the reply. Undecided, the call counts as denied when the approval expires.${ref}`,
      );
    case "handoff":
      return text(
        `The agent waits for a person to finish in a browser (${s.subject}): open ${s.link} , finish there and press Done; ` +
          `get_run then shows how the turn went on.${ref}`,
      );
    case "no_worker":
      return text(
        `The message is kept and its turn will run, but no worker runs turns now (${s.message}). ` +
          `Read the reply later with get_run.${ref}`,
        true,
      );
    case "failed":
      return text(`The turn failed: ${s.message}${ref}`, true);
    case "ended":
      return text(`The turn ended (${s.status}) without a reply.${ref}`, s.status !== "completed");
  }
}
