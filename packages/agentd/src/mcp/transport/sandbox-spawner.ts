import { McpError } from "../errors.ts";
import type { Sandbox } from "../../sandbox/types.ts";
import type { Spawner } from "./spawn.ts";

/**
 * Stdio MCP servers in the machine's sandbox (src/sandbox): each (tenant, server) in a workspace of
 * its own (`mcp-<server>` under the tenant's folder), no network interface, HTTP(S) out only through
 * the SSRF-guarded proxy, no wall clock (a server lives as long as its connection), the sandbox's
 * other limits; killing it kills the whole tree. `sandbox` throws when the machine has none that
 * works and the operator did not allow running unsandboxed: the server then fails to connect with
 * that reason.
 */
export function sandboxSpawner(sandbox: () => Promise<Sandbox>): Spawner {
  return {
    async spawn(spec) {
      const proc = await (await sandbox()).spawn({
        tenantId: spec.tenantId,
        area: `mcp-${spec.server}`,
        command: [spec.command, ...spec.args],
        // The sandbox sets PATH, HOME, TMPDIR and LANG to its own.
        env: Object.fromEntries(Object.entries(spec.env).filter(([k]) => k !== "PATH" && k !== "LANG")),
        egress: true,
        limits: { wallMs: 0 },
      });
      return {
        pid: proc.pid,
        stdin: proc.stdin,
        stdout: proc.stdout,
        stderr: proc.stderr,
        exited: proc.exited.then((e) => ({ code: e.code, signal: e.signal })),
        async kill() {
          proc.kill();
          await proc.exited;
        },
      };
    },
  };
}

/** When the sandbox is off (AGENTD_SANDBOX=0), stdio servers are refused rather than run on the host. */
export const noSandbox: Spawner = {
  async spawn() {
    throw new McpError(
      "not_configured",
      "stdio MCP servers run in the sandbox, which is off here (AGENTD_SANDBOX=0): an operator can turn it on, or use an HTTP server",
    );
  },
};
