import { type CommandInput, parseCommand } from "./args.ts";
import { brief, table, time } from "./format.ts";
import { withAdmin } from "./store.ts";

interface JobRow {
  id: string;
  tenant_id: string;
  kind: string;
  prompt: string;
  at: number | null;
}

/** `agentd schedules [--tenant <id>]`: cron schedules with their next fire times, and pending one-off reminders. */
export async function schedules(input: CommandInput): Promise<number> {
  const p = parseCommand(input, { tenant: { type: "string" } });
  const tenant = p.values.tenant as string | undefined;
  return withAdmin(input, p, async (app) => {
    const list = await app.kernel.schedules.list(tenant ? { namespace: tenant } : {});
    const jobs = await app.db.all<JobRow>(
      `SELECT id, tenant_id, kind, prompt, at FROM os_jobs WHERE status = 'active'${tenant ? " AND tenant_id = ?" : ""} ORDER BY created_at`,
      tenant ? [tenant] : [],
    );
    const prompts = new Map(jobs.map((j) => [`job:${j.id}`, j.prompt]));
    const rows = list.map((s) => [
      s.id,
      s.namespace || "-",
      `${s.cron} (${s.timezone})`,
      s.paused ? "paused" : time(s.nextFireTimes[0]),
      brief(prompts.get(s.id) ?? s.workflow, 60),
    ]);
    // One-off reminders are runs asleep until their time, not schedules; they are listed with them all the same.
    for (const j of jobs)
      if (j.kind === "reminder")
        rows.push([j.id, j.tenant_id, "once", time(j.at === null ? null : Number(j.at)), brief(j.prompt, 60)]);
    if (rows.length === 0) process.stdout.write(`no schedules${tenant ? ` for tenant ${tenant}` : ""}\n`);
    else process.stdout.write(table(["ID", "TENANT", "WHEN", "NEXT", "WHAT"], rows));
    return 0;
  });
}
