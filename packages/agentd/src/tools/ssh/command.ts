import { z } from "zod";
import { globMatch } from "../../agent/glob.ts";
import { sshHosts } from "../../ssh/hosts.ts";
import type { SshService } from "../../ssh/service.ts";
import type { Tool, ToolContext } from "../types.ts";

const HOST_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

const Args = z.object({
  // Checked by a refinement, not a pattern, so the schema the model reads stays small.
  host: z.string().refine((h) => HOST_NAME.test(h), "a host's name (ssh_hosts lists them)"),
  command: z
    .string()
    .min(1)
    .max(8000)
    .refine((c) => !c.includes("\0"), "a command has no NUL characters"),
  timeoutSeconds: z.number().int().min(1).max(3600).optional(),
});
type Args = z.infer<typeof Args>;

const MAX_BYTES = 64 * 1024;
const SHOWN_CHARS = 6_000;
/** Shell syntax that runs, substitutes or redirects beyond the command a pattern names. */
const CHAINING = /[;&|`<>\n\r]|\$\(/;

/**
 * What policy patterns match and the approval shows: the exact command, then the host. The host
 * comes last in a fixed form its names cannot contain, so `systemctl status *` covers every host
 * and `systemctl status * (on web1)` one, and no command can pass for another host's.
 */
export const commandSubject = (a: { host: string; command: string }) => `${a.command} (on ${a.host})`;

/**
 * ssh: one command on one of the tenant's pinned hosts. Exit status, stdout and stderr (each capped),
 * a timeout; output published live to the run's stream. A retry after the worker died runs again
 * only for commands the host marks idempotent; otherwise a person is asked (tool-call/run.ts).
 */
export function sshCommandTool(ssh: SshService): Tool<Args> {
  return {
    name: "ssh",
    description: "Run a shell command on an SSH host (ssh_hosts lists them; timeout default 60 s).",
    input: Args,
    risk: "high",
    defaultDecision: "ask",
    untrusted: true,
    timeoutMs: 3_700_000,
    maxOutputChars: 2 * SHOWN_CHARS + 1_000,
    subject: commandSubject,
    // An allow pattern covers the command it names, not a chain built on it: those are asked.
    allowable: (a) => !CHAINING.test(a.command),
    always: (a) => ({ pattern: commandSubject(a).replaceAll("*", "?"), shown: `exactly "${a.command}" on ${a.host}` }),
    rerun: async (a, scope) => {
      const host = await sshHosts.get(scope, a.host);
      return host?.idempotent.some((p) => globMatch(p, a.command)) ?? false;
    },
    async run(a, ctx) {
      const timeoutMs = (a.timeoutSeconds ?? 60) * 1000;
      const live = liveOutput(`$ ${a.command} (on ${a.host})`, ctx);
      const r = await ssh.exec(ctx.tenant, a.host, a.command, ctx.runId, {
        timeoutMs,
        maxBytes: MAX_BYTES,
        signal: ctx.signal,
        onOutput: (stream, text) => {
          ctx.progress?.({ t: "ssh", host: a.host, stream, d: ctx.redact(text) });
          live(text);
        },
      });
      const cut = (s: string) => (s.length > SHOWN_CHARS ? `${s.slice(0, SHOWN_CHARS)}\n[… cut]` : s);
      return {
        host: a.host,
        exitCode: r.exitCode,
        ...(r.signal ? { signal: r.signal } : {}),
        ...(r.timedOut ? { timedOut: `stopped after ${a.timeoutSeconds ?? 60} s (SIGKILL sent)` } : {}),
        stdout: cut(ctx.redact(r.stdout)),
        stderr: cut(ctx.redact(r.stderr)),
        ...(r.truncated ? { truncated: `output past ${MAX_BYTES} bytes per stream was dropped` } : {}),
        ms: r.ms,
      };
    },
  };
}

/** Raw output kept for the live view: redacted whole, then its tail shown, so a secret the tail cuts never shows its end. */
const LIVE_KEPT = 8_000;
const LIVE_SHOWN = 1_500;

/** The person's live view of a running command: the command and the latest of its output, as a code block. */
function liveOutput(title: string, ctx: ToolContext): (text: string) => void {
  if (!ctx.show) return () => {};
  let raw = "";
  return (text) => {
    raw = (raw + text).slice(-LIVE_KEPT);
    const tail = ctx.redact(raw).slice(-LIVE_SHOWN).replaceAll("```", "'''");
    ctx.show?.(`\`\`\`\n${title}\n${tail}\n\`\`\``);
  };
}
