import {
  type CommandInput,
  noMoreThan,
  type Parsed,
  parseCommand,
  required,
  requiredTenant,
  wholeNumber,
} from "./args.ts";
import { type ApiClient, readSse } from "./client.ts";
import { UsageError } from "./errors.ts";
import { brief, table, time } from "./format.ts";
import { withApi } from "./local-api.ts";
import { JSON_OPTION, printedJson } from "./output.ts";

interface MessageView {
  seq: number;
  role: string;
  content: string;
  runId: string | null;
  createdAt: number;
}

/**
 * `agentd sessions [list] | show <id> | follow <id>`, each with `--tenant <id>`: a tenant's
 * conversations, one's messages, and its messages as they are stored (GET /v1/sessions/:id/events).
 */
export async function sessionsCommand(input: CommandInput): Promise<number> {
  const p = parseCommand(
    input,
    { tenant: { type: "string" }, limit: { type: "string" }, after: { type: "string" }, ...JSON_OPTION },
    2,
  );
  const sub = p.positionals[0] ?? "list";
  const tenant = requiredTenant(p, `sessions ${sub}`);
  const out = (s: string) => process.stdout.write(s);
  return withApi(input, p, tenant, async (client) => {
    const api = client.api.v1.sessions;
    switch (sub) {
      case "list": {
        noMoreThan(p, 1, "sessions list");
        const limit = wholeNumber(p, "limit", 100, "sessions list", 1);
        const answer = await (await api.$get({ query: { limit: String(limit) } })).json();
        if (printedJson(p, answer)) return 0;
        const rows = answer.sessions.map((s) => [
          s.id,
          s.channel,
          s.conversation,
          time(s.createdAt),
          time(s.updatedAt),
        ]);
        out(
          rows.length
            ? table(["ID", "CHANNEL", "CONVERSATION", "STARTED", "LAST"], rows)
            : `no sessions for tenant ${tenant}\n`,
        );
        return 0;
      }
      case "show": {
        noMoreThan(p, 2, "sessions show");
        const param = { id: encodeURIComponent(required(p, 1, "a session id", "agentd sessions show")) };
        const session = await (await api[":id"].$get({ param })).json();
        const query = {
          after: String(wholeNumber(p, "after", 0, "sessions show")),
          limit: String(wholeNumber(p, "limit", 100, "sessions show", 1)),
        };
        const page = await (await api[":id"].messages.$get({ param, query })).json();
        if (printedJson(p, { session, ...page })) return 0;
        out(
          `${session.id}: ${session.channel} conversation "${session.conversation}", since ${time(session.createdAt)}\n`,
        );
        if (page.messages.length === 0) out("no messages\n");
        else out(table(["SEQ", "TIME", "ROLE", "CONTENT"], page.messages.map(messageRow)));
        if (page.next !== null) out(`(more: --after ${page.next})\n`);
        return 0;
      }
      case "follow": {
        noMoreThan(p, 2, "sessions follow");
        const id = required(p, 1, "a session id", "agentd sessions follow");
        const limit = p.values.limit === undefined ? null : wholeNumber(p, "limit", 1, "sessions follow", 1);
        return follow(client, p, id, limit);
      }
      default:
        throw new UsageError(`agentd sessions: unknown subcommand "${sub}"; use list, show or follow`);
    }
  });
}

const messageRow = (m: MessageView) => [String(m.seq), time(m.createdAt), m.role, brief(m.content, 100)];

/**
 * Prints a session's messages as they are stored, until Ctrl-C (or `limit` messages): one line
 * each, or one JSON object a line with --json. A `--after <seq>` starts after that message.
 */
async function follow(client: ApiClient, p: Parsed, id: string, limit: number | null): Promise<number> {
  const leave = new AbortController();
  const interrupted = () => leave.abort();
  process.once("SIGINT", interrupted);
  const after = p.values.after === undefined ? {} : { after: String(wholeNumber(p, "after", 0, "sessions follow")) };
  try {
    const res = await client.api.v1.sessions[":id"].events.$get(
      { param: { id: encodeURIComponent(id) }, query: after },
      { init: { signal: leave.signal } },
    );
    let seen = 0;
    for await (const ev of res.body ? readSse(res.body) : []) {
      if (ev.event === "ready") {
        if (!p.values.json) process.stderr.write(`following session ${id} (Ctrl-C to stop)\n`);
        continue;
      }
      if (ev.event !== "message") continue;
      const m = ev.data as MessageView;
      process.stdout.write(
        p.values.json ? `${JSON.stringify(m)}\n` : `${time(m.createdAt)}  ${m.role}  ${brief(m.content, 1000)}\n`,
      );
      if (limit !== null && ++seen >= limit) break;
    }
    return 0;
  } catch (e) {
    if (leave.signal.aborted) return 0;
    throw e;
  } finally {
    process.off("SIGINT", interrupted);
    leave.abort();
  }
}
