import type { JournalEntry, RunInfo, RunStatus } from "@agentd/kernel";
import type { Agentd } from "../app.ts";
import { cancelRun } from "../agent/approvals.ts";
import { createRedactor, type Redactor } from "../vault/redact.ts";
import { type CommandInput, parseCommand, required, wholeNumber } from "./args.ts";
import { withApi } from "./local-api.ts";
import { followRun } from "./run-follow.ts";
import { AgentdError } from "../errors.ts";
import { UsageError } from "./errors.ts";
import { brief, duration, table, time } from "./format.ts";
import { JSON_OPTION, printedJson } from "./output.ts";
import { withAdmin } from "./store.ts";
import { journalView, runView } from "../api/views.ts";

const STATUSES: RunStatus[] = ["pending", "running", "suspended", "completed", "failed", "cancelled"];

/** `agentd runs [--tenant] [--status] [--limit]`, `runs show|follow|retry|cancel <runId>`, on the store directly. */
export async function runs(input: CommandInput): Promise<number> {
  const p = parseCommand(
    input,
    {
      tenant: { type: "string" },
      status: { type: "string" },
      limit: { type: "string" },
      after: { type: "string" },
      ...JSON_OPTION,
    },
    2,
  );
  const sub = p.positionals[0];
  if (sub === undefined || sub === "list") {
    const status = p.values.status as string | undefined;
    if (status !== undefined && !STATUSES.includes(status as RunStatus))
      throw new UsageError(`agentd runs: unknown status "${status}"; use one of ${STATUSES.join(", ")}`);
    const limit = p.values.limit === undefined ? 50 : Number(p.values.limit);
    if (!Number.isInteger(limit) || limit < 1)
      throw new UsageError("agentd runs: --limit must be a whole number above 0");
    const tenant = p.values.tenant as string | undefined;
    return withAdmin(input, p, async (app) => {
      const list = await app.kernel.listRuns({
        limit,
        ...(tenant ? { namespace: tenant } : {}),
        ...(status ? { status: status as RunStatus } : {}),
      });
      const redact = await redactors(app);
      if (p.values.json) {
        const runs = await Promise.all(
          list.map(async (r) => ({ ...runView(r, await redact(r.namespace)), tenant: r.namespace })),
        );
        printedJson(p, { runs });
        return 0;
      }
      if (list.length === 0) {
        process.stdout.write(`no runs${status ? ` ${status}` : ""}${tenant ? ` for tenant ${tenant}` : ""}\n`);
        return 0;
      }
      const rows = list.map(async (r) => [
        r.id,
        r.workflow,
        r.status,
        r.namespace || "-",
        time(r.createdAt),
        brief(note(r, await redact(r.namespace)), 70),
      ]);
      process.stdout.write(table(["ID", "WORKFLOW", "STATUS", "TENANT", "CREATED", "NOTE"], await Promise.all(rows)));
      return 0;
    });
  }
  if (p.values.tenant !== undefined || p.values.status !== undefined || p.values.limit !== undefined)
    throw new UsageError(`agentd runs ${sub}: --tenant, --status and --limit go with the list, not with ${sub}`);
  const id = required(p, 1, "a run id", `agentd runs ${sub}`);
  if (p.values.after !== undefined && sub !== "follow")
    throw new UsageError(`agentd runs ${sub}: --after goes with follow`);
  switch (sub) {
    case "follow": {
      const after = p.values.after === undefined ? null : wholeNumber(p, "after", 0, "runs follow");
      return withApi(input, p, null, async (client, app) => {
        client.tenant = (await find(app, id)).namespace;
        return followRun(client, p, id, after);
      });
    }
    case "show":
      return withAdmin(input, p, async (app) => {
        const run = await find(app, id);
        const redact = await (await redactors(app))(run.namespace);
        const journal = await app.kernel.journal(run.id);
        if (
          printedJson(p, {
            run: { ...runView(run, redact), tenant: run.namespace },
            journal: journalView(journal, redact),
          })
        )
          return 0;
        process.stdout.write(showRun(run, journal, redact));
        return 0;
      });
    case "retry":
      return withAdmin(input, p, async (app) => {
        await find(app, id);
        await app.kernel.retry(id);
        process.stdout.write(
          `run ${id} will resume from its last checkpoint as soon as a worker (\`agentd start\` or \`agentd worker\`) is running\n`,
        );
        return 0;
      });
    case "cancel":
      return withAdmin(input, p, async (app) => {
        const run = await find(app, id);
        const ids = await cancelRun(app.kernel, app.tenants.scope(run.namespace), id, app.kernel.clock.now());
        const children = ids.filter((x) => x !== id);
        process.stdout.write(
          `cancelled run ${id}${children.length ? ` and ${children.length} child run(s): ${children.join(", ")}` : ""}\n`,
        );
        return 0;
      });
    default:
      throw new UsageError(`agentd runs: unknown subcommand "${sub}"; use show, follow, retry or cancel`);
  }
}

async function find(app: Agentd, id: string): Promise<RunInfo> {
  const run = await app.kernel.getRun(id);
  if (!run) throw new AgentdError("not_found", `no run ${id}: \`agentd runs\` lists the runs`);
  return run;
}

/** One redactor per tenant (runs' namespaces are tenant ids): each strips that tenant's vault values. */
async function redactors(app: Agentd): Promise<(tenantId: string) => Promise<Redactor>> {
  const cache = new Map<string, Promise<Redactor>>();
  return (tenantId) => {
    let r = cache.get(tenantId);
    if (!r) {
      r = app.vault.values(app.tenants.scope(tenantId)).then(createRedactor);
      cache.set(tenantId, r);
    }
    return r;
  };
}

/** The one thing worth knowing about a run in a list: its error, or what it waits for. */
function note(r: RunInfo, redact: Redactor): string {
  if (r.status === "failed" && r.error) return redact.text(r.error.message);
  if (r.status === "suspended" && r.waiting) {
    const w = [...r.waiting.events.map((e) => `event ${e}`), ...r.waiting.children.map((c) => `run ${c}`)];
    return `waits for ${w.join(", ") || (r.wakeAt ? `a timer (${time(r.wakeAt)})` : "something")}`;
  }
  if (r.queued) return "queued behind its concurrency limit";
  return "";
}

/** A run's summary and journal, one line per entry, secrets redacted. */
export function showRun(run: RunInfo, journal: JournalEntry[], redact: Redactor): string {
  const r = redact.deep(run);
  const lines = [
    `run ${r.id}: ${r.workflow}, ${r.status}${r.namespace ? `, tenant ${r.namespace}` : ""}`,
    `created ${time(r.createdAt)}${r.completedAt ? `, ended ${time(r.completedAt)} (${duration(r.completedAt - r.createdAt)})` : `, updated ${time(r.updatedAt)}`}` +
      (r.parentId ? `, child of run ${r.parentId}` : ""),
    `input:  ${brief(r.input, 200)}`,
  ];
  if (r.status === "completed") lines.push(`output: ${brief(r.output, 200)}`);
  if (r.error)
    lines.push(
      `error:  ${brief(r.error.message, 300)}`,
      ...(r.status === "failed"
        ? [`        resume it from its last checkpoint with \`agentd runs retry ${r.id}\``]
        : []),
    );
  lines.push("", journal.length ? "journal:" : "journal: empty (the run has not started yet)");
  const rows = journal.map((e0) => {
    const e = redact.deep(e0);
    const took = e.updatedAt > e.startedAt && e.status !== "waiting" ? duration(e.updatedAt - e.startedAt) : "";
    const detail = e.error
      ? `error: ${e.error.message}`
      : e.status === "waiting" && e.wakeAt
        ? `until ${time(e.wakeAt)}`
        : e.kind === "invoke" && e.ref
          ? `run ${e.ref}`
          : brief(e.value, 100);
    return [
      `#${e.seq}`,
      e.kind,
      e.name,
      e.status,
      e.attempt > 1 ? `attempt ${e.attempt}` : "",
      took,
      brief(detail, 100),
    ];
  });
  if (rows.length)
    lines.push(
      table(["SEQ", "KIND", "NAME", "STATUS", "TRIES", "TOOK", "DETAIL"], rows).replace(/\n$/, "").replace(/^/gm, "  "),
    );
  return `${lines.join("\n")}\n`;
}
