import { realpath } from "node:fs/promises";
import { z } from "zod";
import type { BlobStore } from "../../blobs/types.ts";
import { AgentdError } from "../../errors.ts";
import type { SandboxHost } from "../../sandbox/host.ts";
import { runSandboxed } from "../../sandbox/run.ts";
import { scanWorkspace } from "../../sandbox/workspace.ts";
import { formatBytes } from "../../blobs/local.ts";
import { defineTool } from "../define.ts";
import { withFiles } from "../files.ts";
import { keepFiles } from "./files.ts";

const MAX_CODE = 100_000;
const OUTPUT_BYTES = 32 * 1024;
/** What model APIs take as images (an SVG is text to them: it is listed, and sent to the person as a document). */
const MODEL_IMAGES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

/** How each language runs: the interpreter inside the sandbox and the file the code is written to. */
function commandFor(language: "python" | "javascript" | "shell", code: string): { file: string; command: string[] } {
  if (language === "python") return { file: "main.py", command: ["python3", "@files/main.py"] };
  if (language === "shell") return { file: "main.sh", command: ["bash", "@files/main.sh"] };
  // Node decides CommonJS or ES module by the extension: code that require()s and imports nothing is CommonJS.
  const cjs = /\brequire\s*\(/.test(code) && !/^\s*import\s/m.test(code);
  const file = cjs ? "main.cjs" : "main.mjs";
  return { file, command: ["node", `@files/${file}`] };
}

export interface RunCodeDeps {
  host: SandboxHost;
  blobs: BlobStore;
  /** Files larger than this are not returned (the blob store's limit). */
  maxFileBytes: number;
}

/**
 * `run_code`: Python 3, JavaScript (Node) or a shell script in the tenant's sandbox (src/sandbox):
 * no network unless asked (then only through the SSRF guard), a workspace that persists between
 * calls, rlimits and a wall clock. Files the code writes there come back as blobs.
 *
 * It asks by default: code is the widest tool there is. Sandboxed, it still spends the machine's
 * CPU and disk, keeps files for the next call, and with `network` can send what the workspace holds
 * anywhere public. A tenant who wants it without asking says so in its policy (`run_code` allow,
 * or allow only calls without network with a pattern on the subject, which starts `python:` etc.
 * and says `with network` when asked for).
 */
export function runCodeTool(deps: RunCodeDeps) {
  const limits = deps.host.config.limits;
  const maxSeconds = Math.max(1, Math.floor(limits.wallMs / 1000));
  return defineTool({
    name: "run_code",
    description:
      "Run Python 3, JavaScript (Node) or a shell script in a sandbox; files written to the working folder persist, images written go to the person.",
    input: z.object({
      language: z.enum(["python", "javascript", "shell"]),
      code: z.string().min(1).max(MAX_CODE),
      stdin: z.string().max(MAX_CODE).optional(),
      network: z.boolean().optional().describe("HTTP(S) to public hosts through a filtering proxy; off by default"),
      timeoutSeconds: z.number().int().min(1).max(maxSeconds).optional(),
    }),
    risk: "high",
    defaultDecision: "ask",
    untrusted: true,
    // The tool's own deadline is beyond the sandbox's wall clock, so the sandbox reports a timeout itself.
    timeoutMs: limits.wallMs + 30_000,
    maxOutputChars: 12_000,
    // A worker that died mid-call leaves its outcome unknown. Without network the code touched only the
    // tenant's workspace: run it again. With network it may have acted outside: a person decides.
    rerun: async (a) => !a.network,
    subject: (a) => `${a.language}${a.network ? " with network" : ""}: ${a.code.slice(0, 2000)}`,
    async run(a, ctx) {
      const sandbox = await deps.host.get();
      const tenantId = ctx.tenant.tenantId;
      const workspace = await realpath(await sandbox.workspace(tenantId, "code"));
      const before = await scanWorkspace(workspace);
      if (before.bytes > deps.host.config.workspaceBytes)
        throw new AgentdError(
          "limit",
          `the workspace holds ${formatBytes(before.bytes)}, more than its ${formatBytes(deps.host.config.workspaceBytes)}: delete files (e.g. run_code with shell "rm -r <folder>") before running more code`,
        );
      const { file, command } = commandFor(a.language, a.code);
      const r = await runSandboxed(
        sandbox,
        {
          tenantId,
          area: "code",
          command,
          files: { [file]: a.code },
          egress: a.network ?? false,
          limits: { wallMs: (a.timeoutSeconds ?? maxSeconds) * 1000 },
        },
        { input: a.stdin ?? "", maxOutputBytes: OUTPUT_BYTES, signal: ctx.signal },
      );
      const after = await scanWorkspace(workspace);
      const out = await keepFiles(tenantId, workspace, before.files, after.files, deps.blobs, deps.maxFileBytes);
      const result = {
        exitCode: r.exit.code,
        ...(r.exit.signal ? { signal: r.exit.signal } : {}),
        ...(r.exit.reason === "timeout" ? { timedOut: `killed after ${a.timeoutSeconds ?? maxSeconds} s` } : {}),
        stdout: r.stdout,
        stderr: r.stderr,
        ...(r.truncated ? { truncated: `each output is cut at ${OUTPUT_BYTES / 1024} KB` } : {}),
        files: out.files.map(({ attachment: _, ...f }) => f),
        ...(out.skipped.length ? { filesSkipped: out.skipped } : {}),
        ...(r.exit.refused.length ? { networkRefused: r.exit.refused } : {}),
        ...(sandbox.mode === "none" ? { warning: "ran WITHOUT a sandbox (AGENTD_UNSANDBOXED_CODE=1)" } : {}),
      };
      // Images the code drew are meant to be seen: the model sees them, and they go to the person with
      // the reply. Other files are listed by blob id; send_file sends those the person should get.
      const images = out.files.filter((f) => f.attachment.kind === "image").map((f) => f.attachment);
      const viewable = images.filter((a) => MODEL_IMAGES.has(a.mime));
      return withFiles(JSON.stringify(result), { show: viewable, send: images });
    },
  });
}
