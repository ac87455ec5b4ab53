import type { Parsed } from "./args.ts";
import { type ApiClient, readSse } from "./client.ts";
import { EXIT } from "./errors.ts";
import { brief } from "./format.ts";

/**
 * `agentd runs follow <runId>`: the run's stream (GET /v1/runs/:id/stream) from its start, or after
 * `--after <offset>`: the model's text on stdout as it comes, what else happens (tools, approvals,
 * waits) one line each on stderr; with --json, each event a JSON line on stdout. It ends with the
 * run's stream: exit code 0 when the run answered or completed, 1 when it failed or was cancelled.
 */
export async function followRun(client: ApiClient, p: Parsed, id: string, after: number | null): Promise<number> {
  const leave = new AbortController();
  const interrupted = () => leave.abort();
  process.once("SIGINT", interrupted);
  let code: number = EXIT.ok;
  let midLine = false;
  const note = (s: string) => {
    if (midLine) process.stdout.write("\n");
    midLine = false;
    process.stderr.write(`${s}\n`);
  };
  try {
    const res = await client.api.v1.runs[":id"].stream.$get(
      { param: { id: encodeURIComponent(id) } },
      // Resuming is the route's Last-Event-ID: the events after that offset.
      { init: { signal: leave.signal }, headers: after === null ? {} : { "last-event-id": String(after) } },
    );
    for await (const ev of res.body ? readSse(res.body) : []) {
      const d = (ev.data ?? {}) as Record<string, unknown>;
      if (p.values.json) process.stdout.write(`${JSON.stringify({ event: ev.event, id: ev.id, data: d })}\n`);
      else if (ev.event === "text") {
        const text = String(d.d ?? "");
        process.stdout.write(text);
        midLine = !text.endsWith("\n");
      } else if (ev.event === "waiting" || ev.event === "error") note(`[${ev.event}] ${String(d.message ?? "")}`);
      else if (ev.event === "tool" || ev.event === "approval" || ev.event === "handoff")
        note(`[${ev.event}] ${String(d.name ?? d.tool ?? "")} ${brief(d.subject ?? "", 200)}`.trimEnd());
      else if (ev.event === "end") note(`[end] the run is ${String(d.status)}`);
      if (ev.event === "error") code = EXIT.failed;
    }
    if (midLine) process.stdout.write("\n");
    return code;
  } catch (e) {
    if (leave.signal.aborted) return EXIT.ok;
    throw e;
  } finally {
    process.off("SIGINT", interrupted);
    leave.abort();
  }
}
