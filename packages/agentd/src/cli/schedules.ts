import {
  type CommandInput,
  noMoreThan,
  type Parsed,
  parseCommand,
  required,
  requiredTenant,
  wholeNumber,
} from "./args.ts";
import { UsageError } from "./errors.ts";
import { brief, table, time } from "./format.ts";
import { withApi } from "./local-api.ts";
import { JSON_OPTION, printedJson } from "./output.ts";
import { withAdmin } from "./store.ts";
import { AgentdError } from "../errors.ts";

interface JobRow {
  id: string;
  tenant_id: string;
  kind: string;
  prompt: string;
  at: number | null;
}

const SUBCOMMANDS = "list, add, ticks, pause, resume or delete";

/**
 * `agentd schedules [list] [--tenant <id>] [--json]`: cron schedules with their next fire times in
 * their own zone, and pending one-off reminders; `schedules add` (a reminder or a recurring job),
 * `ticks`, `pause`, `resume` and `delete <id>` through the API.
 */
export async function schedules(input: CommandInput): Promise<number> {
  const p = parseCommand(
    input,
    {
      tenant: { type: "string" },
      at: { type: "string" },
      cron: { type: "string" },
      timezone: { type: "string" },
      session: { type: "string" },
      limit: { type: "string" },
      ...JSON_OPTION,
    },
    200,
  );
  const sub = p.positionals[0] ?? "list";
  const tenant = p.values.tenant as string | undefined;
  if (sub !== "add" && ["at", "cron", "timezone", "session"].some((o) => p.values[o] !== undefined))
    throw new UsageError(`agentd schedules ${sub}: --at, --cron, --timezone and --session go with add`);
  if (sub === "list") {
    noMoreThan(p, 1, "schedules list");
    return list(input, p, tenant);
  }
  if (sub === "add") return add(input, p);
  if (sub !== "pause" && sub !== "resume" && sub !== "delete" && sub !== "ticks")
    throw new UsageError(`agentd schedules: unknown subcommand "${sub}"; use ${SUBCOMMANDS}`);
  noMoreThan(p, 2, `schedules ${sub}`);
  // As listed: a recurring job's schedule is "job:<id>"; the API names the job.
  const id = required(p, 1, "a schedule id (`agentd schedules` lists them)", `agentd schedules ${sub}`).replace(
    /^job:/,
    "",
  );
  const owner = tenant ?? (await ownerOf(input, p, id));
  return withApi(input, p, owner, async (client) => {
    const param = { id: encodeURIComponent(id) };
    if (sub === "ticks") {
      const limit = String(wholeNumber(p, "limit", 50, "schedules ticks", 1));
      const answer = await (await client.api.v1.schedules[":id"].ticks.$get({ param, query: { limit } })).json();
      if (printedJson(p, answer)) return 0;
      const rows = answer.ticks.map((t) => [time(t.tickAt), t.status, t.runId ?? "-", brief(t.reason ?? "", 70)]);
      process.stdout.write(rows.length ? table(["TICK", "STATUS", "RUN", "REASON"], rows) : `no ticks of ${id} yet\n`);
      return 0;
    }
    if (sub === "delete") await client.api.v1.schedules[":id"].$delete({ param });
    else if (sub === "pause") await client.api.v1.schedules[":id"].pause.$post({ param });
    else await client.api.v1.schedules[":id"].resume.$post({ param });
    process.stdout.write(`${sub === "delete" ? "deleted" : `${sub}d`} schedule ${id} of tenant ${owner}\n`);
    return 0;
  });
}

/** `schedules add --tenant <id> --at <time> | --cron <expr> [--timezone <zone>] [--session <id>] <prompt>...` */
async function add(input: CommandInput, p: Parsed): Promise<number> {
  const tenant = requiredTenant(p, "schedules add");
  const prompt = p.positionals.slice(1).join(" ").trim();
  if (!prompt) throw new UsageError("agentd schedules add needs the prompt: what the agent is to do then");
  const at = p.values.at as string | undefined;
  const cron = p.values.cron as string | undefined;
  if ((at === undefined) === (cron === undefined))
    throw new UsageError(
      "agentd schedules add needs either --at <time> (a reminder) or --cron <expr> (a recurring job)",
    );
  const timezone = p.values.timezone as string | undefined;
  const sessionId = p.values.session as string | undefined;
  return withApi(input, p, tenant, async (client) => {
    const made = await (
      await client.api.v1.schedules.$post({
        json: {
          prompt,
          ...(at !== undefined ? { at } : {}),
          ...(cron !== undefined ? { cron } : {}),
          ...(timezone !== undefined ? { timezone } : {}),
          ...(sessionId !== undefined ? { sessionId } : {}),
        },
      })
    ).json();
    if (printedJson(p, made)) return 0;
    const zone = made.timezone ?? undefined;
    process.stdout.write(
      made.kind === "reminder"
        ? `reminder ${made.id} at ${time(made.at)}\n`
        : `recurring job ${made.id}: ${made.cron} (${made.timezone}), next ${time(made.next[0], zone)}\n`,
    );
    return 0;
  });
}

/** The tenant a job belongs to, read from the store (so scripts need not name it), or not_found. */
async function ownerOf(input: CommandInput, p: Parsed, id: string): Promise<string> {
  return withAdmin(input, p, async (app) => {
    const row = await app.db.get<{ tenant_id: string }>("SELECT tenant_id FROM os_jobs WHERE id = ?", [id]);
    if (!row) throw new AgentdError("not_found", `schedule ${id} not found; \`agentd schedules\` lists them`);
    return row.tenant_id;
  });
}

async function list(input: CommandInput, p: Parsed, tenant: string | undefined) {
  return withAdmin(input, p, async (app) => {
    const all = await app.kernel.schedules.list(tenant ? { namespace: tenant } : {});
    const jobs = await app.db.all<JobRow>(
      `SELECT id, tenant_id, kind, prompt, at FROM os_jobs WHERE status = 'active'${tenant ? " AND tenant_id = ?" : ""} ORDER BY created_at`,
      tenant ? [tenant] : [],
    );
    const prompts = new Map(jobs.map((j) => [`job:${j.id}`, j.prompt]));
    const items = [
      ...all.map((s) => ({
        id: s.id,
        tenant: s.namespace || null,
        kind: "recurring",
        cron: s.cron,
        timezone: s.timezone,
        paused: s.paused,
        next: s.nextFireTimes,
        what: prompts.get(s.id) ?? s.workflow,
      })),
      // One-off reminders are runs asleep until their time, not schedules; they are listed with them all the same.
      ...jobs
        .filter((j) => j.kind === "reminder")
        .map((j) => ({
          id: j.id,
          tenant: j.tenant_id,
          kind: "reminder",
          cron: null,
          timezone: null,
          paused: false,
          next: j.at === null ? [] : [Number(j.at)],
          what: j.prompt,
        })),
    ];
    if (printedJson(p, { schedules: items })) return 0;
    if (items.length === 0) {
      process.stdout.write(`no schedules${tenant ? ` for tenant ${tenant}` : ""}\n`);
      return 0;
    }
    const rows = items.map((s) => [
      s.id,
      s.tenant ?? "-",
      s.cron ? `${s.cron} (${s.timezone})` : "once",
      s.paused ? "paused" : time(s.next[0], s.timezone ?? undefined),
      brief(s.what, 60),
    ]);
    process.stdout.write(table(["ID", "TENANT", "WHEN", "NEXT", "WHAT"], rows));
    return 0;
  });
}
