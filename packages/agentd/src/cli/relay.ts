import { readFileSync } from "node:fs";
import { startRelay } from "../ssh/relay.ts";
import { type CommandInput, parseCommand } from "./args.ts";
import { UsageError } from "./errors.ts";

/**
 * `agentd relay`: the far end of SSH over HTTPS, run next to sshd. Accepts WebSocket tunnels that
 * carry the token and forwards each to 127.0.0.1:<ssh-port>, never anywhere else. Runs until stopped.
 */
export async function relay(input: CommandInput): Promise<number> {
  const p = parseCommand(input, {
    listen: { type: "string" },
    "ssh-port": { type: "string" },
    path: { type: "string" },
    "token-file": { type: "string" },
  });
  const listen = (p.values.listen as string | undefined) ?? "127.0.0.1:8022";
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(listen);
  if (!m) throw new UsageError(`agentd relay: --listen is host:port, got "${listen}"`);
  const sshPort = Number((p.values["ssh-port"] as string | undefined) ?? input.env.AGENTD_RELAY_SSH_PORT ?? "22");
  if (!Number.isInteger(sshPort) || sshPort < 1 || sshPort > 65535)
    throw new UsageError("agentd relay: --ssh-port is a port number (1-65535)");
  const file = p.values["token-file"] as string | undefined;
  const raw = file ? readFileSync(file, "utf8") : (input.env.AGENTD_RELAY_TOKEN ?? "");
  const tokens = raw
    .split(/[\n,]/)
    .map((t) => t.trim())
    .filter(Boolean);
  if (tokens.length === 0 || tokens.some((t) => t.length < 16))
    throw new UsageError(
      "agentd relay needs a token of 16 or more characters: set AGENTD_RELAY_TOKEN (several: comma-separated) or --token-file <file> (one a line); give the same token to the host in agentd (--tunnel-token-stdin)",
    );
  const path = (p.values.path as string | undefined) ?? "/";
  const r = await startRelay({
    tokens,
    sshPort,
    path,
    host: (m[1] as string).replace(/^\[|\]$/g, ""),
    port: Number(m[2]),
    log: (line) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...line })}\n`),
  });
  process.stdout.write(`agentd relay: ready on ${r.url}, forwarding tunnels to 127.0.0.1:${sshPort}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await r.close();
  return 0;
}
