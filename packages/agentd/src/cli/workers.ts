import { type CommandInput, noMoreThan, parseCommand } from "./args.ts";
import { brief, table, time } from "./format.ts";
import { withApi } from "./local-api.ts";
import { JSON_OPTION, printedJson } from "./output.ts";

/** `agentd workers [--json]`: the live workers on this store (GET /v1/workers) and what each serves. */
export async function workers(input: CommandInput): Promise<number> {
  const p = parseCommand(input, JSON_OPTION, 1);
  noMoreThan(p, 0, "workers");
  return withApi(input, p, null, async (client) => {
    const answer = await (await client.api.v1.workers.$get()).json();
    if (printedJson(p, answer)) return 0;
    const rows = answer.workers.map((w) => [
      w.id,
      time(w.startedAt),
      time(w.heartbeatAt),
      brief(
        Object.entries(w.workflows)
          .map(([name, version]) => `${name}@${version}`)
          .join(" "),
        100,
      ),
    ]);
    process.stdout.write(
      rows.length
        ? table(["WORKER", "STARTED", "HEARTBEAT", "WORKFLOWS"], rows)
        : "no live workers on this store: runs wait until `agentd start` or `agentd worker` runs\n",
    );
    return 0;
  });
}
