import { rotateMasterKey } from "../vault/rotate.ts";
import { type CommandInput, parseCommand } from "./args.ts";
import { UsageError } from "./errors.ts";
import { progress } from "./output.ts";
import { withAdmin } from "./store.ts";

/** `agentd vault rotate [<newKey>]`: a new master key for every secret, with progress. */
export async function vault(input: CommandInput): Promise<number> {
  const p = parseCommand(input, {}, 2);
  const [sub, newKey] = p.positionals;
  if (sub !== "rotate")
    throw new UsageError(
      sub ? `agentd vault: unknown subcommand "${sub}"; use rotate` : "agentd vault needs a subcommand: rotate",
    );
  return withAdmin(input, p, async (app) => {
    const bar = progress("secret(s) re-encrypted");
    if (input.env.AGENTD_MASTER_KEY === undefined)
      process.stderr.write("rotating the master key (running agentd processes pick up the new key by themselves)…\n");
    else if (newKey || input.env.AGENTD_MASTER_KEY_PREVIOUS)
      process.stderr.write("re-encrypting every secret under the new master key…\n");
    const result = await rotateMasterKey(app.config.dataDir, app.db, {
      env: input.env,
      ...(newKey ? { newKey } : {}),
      onProgress: ({ done, total }) => bar.step(done, total),
    });
    bar.end();
    process.stdout.write(`${result.message}\n`);
    return result.outcome === "incomplete" ? 1 : 0;
  });
}
