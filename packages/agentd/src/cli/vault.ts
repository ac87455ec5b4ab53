import { rotateMasterKey } from "../vault/rotate.ts";
import { type CommandInput, parseCommand } from "./args.ts";
import { UsageError } from "./errors.ts";
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
    const tty = process.stderr.isTTY;
    let shown = -1;
    if (input.env.AGENTD_MASTER_KEY === undefined)
      process.stderr.write("rotating the master key (running agentd processes pick up the new key by themselves)…\n");
    else if (newKey || input.env.AGENTD_MASTER_KEY_PREVIOUS)
      process.stderr.write("re-encrypting every secret under the new master key…\n");
    const result = await rotateMasterKey(app.config.dataDir, app.db, {
      env: input.env,
      ...(newKey ? { newKey } : {}),
      onProgress: ({ done, total }) => {
        // On a terminal one line counts up; in a log, a line per tenth.
        if (tty) process.stderr.write(`\r  ${done} / ${total} secret(s) re-encrypted`);
        else if (total > 0 && Math.floor((10 * done) / total) > shown) {
          shown = Math.floor((10 * done) / total);
          process.stderr.write(`  ${done} / ${total} secret(s)\n`);
        }
      },
    });
    if (tty && result.total > 0) process.stderr.write("\n");
    process.stdout.write(`${result.message}\n`);
    return result.outcome === "incomplete" ? 1 : 0;
  });
}
