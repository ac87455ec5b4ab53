/**
 * A real agentd worker process for the crash tests: configured from the environment like `agentd
 * start`, plus a tool and a channel that can SIGKILL this process at a precise point (when a marker
 * file exists) and log what they did to files the test reads after the kill.
 */
import { appendFileSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { createAgentd } from "../../src/app.ts";
import type { Tool } from "../../src/tools/types.ts";

const dir = process.env.CRASH_DIR as string;
const killIf = (marker: string) => {
  const path = join(dir, marker);
  if (!existsSync(path)) return;
  rmSync(path);
  process.kill(process.pid, "SIGKILL");
};

const sideEffect: Tool<{ label: string }> = {
  name: "side_effect",
  description: "Do the side effect.",
  input: z.object({ label: z.string() }),
  risk: "medium",
  defaultDecision: "allow",
  async run(args) {
    appendFileSync(join(dir, "tool.log"), `started ${args.label}\n`);
    killIf("kill-in-tool");
    appendFileSync(join(dir, "tool.log"), `finished ${args.label}\n`);
    return `did ${args.label}`;
  },
};

const app = await createAgentd({ tools: [sideEffect], logger: () => {} });
app.channels.register({
  channel: "rec",
  async deliver(d) {
    killIf(`kill-in-deliver-${d.kind}`);
    appendFileSync(join(dir, "deliveries.log"), `${JSON.stringify({ kind: d.kind, key: d.key, text: d.text })}\n`);
  },
});
await app.start();
process.stdout.write("ready\n");
// The kernel's timers do not hold the process open (a library must not); this process lives until killed.
setInterval(() => {}, 1 << 30);
for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, () => void app.close().then(() => process.exit(0)));
