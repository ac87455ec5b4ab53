import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, type FileHandle, mkdir, open, rm, writeFile } from "node:fs/promises";
import { dirname, join, posix } from "node:path";
import { AgentdError } from "../errors.ts";
import type { NetPolicy } from "../net/policy.ts";
import { type GuardProxy, type Refusal, startGuardProxy } from "../net/proxy.ts";
import { bwrapArgs, INSIDE } from "./args.ts";
import { DEFAULT_LIMITS, limitsOf, prlimitArgs } from "./limits.ts";
import { seccompFilter } from "./seccomp.ts";
import type { Sandbox, SandboxExit, SandboxLimits, SandboxMode, SandboxProcess, SpawnSpec } from "./types.ts";
import { sandboxUid, workspaceDir } from "./workspace.ts";

/** Words of a command starting with this are rewritten to where `files` are (read-only) in this sandbox. */
export const FILES_PREFIX = "@files/";

export interface SandboxOptions {
  mode: SandboxMode;
  /** bubblewrap's executable (mode "bwrap"). */
  bwrap: string;
  /** Workspaces live in `<root>/<tenant>/<area>`; per-spawn files and sockets in `<root>/.spawn`. */
  root: string;
  net: NetPolicy;
  /** Limits a spawn starts from (each spec may lower or raise them). */
  limits?: SandboxLimits;
  /** The Node the sandbox runs (`node` on its PATH): this process's own by default. */
  node?: string;
}

const VAR = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const FORWARDER = join(import.meta.dirname, "egress-forward.mjs");

/** The sandbox port over bubblewrap (or, when the operator allowed it, over nothing but rlimits). */
export function createSandbox(o: SandboxOptions): Sandbox {
  const base = o.limits ?? DEFAULT_LIMITS;
  const node = o.node ?? process.execPath;
  const asRoot = process.geteuid?.() === 0;
  const owner = (tenantId: string, area: string) => (o.mode === "bwrap" && asRoot ? sandboxUid(tenantId, area) : null);
  return {
    mode: o.mode,
    workspace: (tenantId, area) => workspaceDir(o.root, tenantId, area, owner(tenantId, area)),
    async spawn(spec) {
      const limits = limitsOf(spec.limits, base);
      const workspace = await workspaceDir(o.root, spec.tenantId, spec.area, owner(spec.tenantId, spec.area));
      const cwd = posix.normalize(posix.join(INSIDE.workspace, spec.cwd ?? "."));
      if (cwd !== INSIDE.workspace && !cwd.startsWith(`${INSIDE.workspace}/`))
        throw new AgentdError("bad_request", `the working folder must be inside the workspace, not ${spec.cwd}`);
      for (const k of Object.keys(spec.env ?? {}))
        if (!VAR.test(k))
          throw new AgentdError("bad_request", `${JSON.stringify(k.slice(0, 40))} is not a variable name`);
      const scratch = join(o.root, ".spawn", randomBytes(9).toString("hex"));
      await mkdir(scratch, { recursive: true, mode: 0o700 });
      let proxy: GuardProxy | null = null;
      const refused: Refusal[] = [];
      try {
        const files = spec.files ? await writeFiles(join(scratch, "files"), spec.files) : null;
        if (spec.egress) {
          // A unix socket, not a port: the sandbox has no network interface to reach one, and a
          // file bound into it reaches this proxy only (its loopback is its own, empty namespace).
          const socket = o.mode === "bwrap" ? join(scratch, "proxy.sock") : undefined;
          proxy = await startGuardProxy(o.net, (r) => refused.length < 100 && refused.push(r), {
            ...(socket ? { socketPath: socket } : {}),
          });
          if (socket) await chmod(socket, 0o666); // the code's uid must be able to connect; the folder above is agentd's only
        }
        const env = baseEnv(spec, o.mode === "bwrap" ? INSIDE.workspace : workspace, proxy, o.mode);
        const filesAt = o.mode === "bwrap" ? INSIDE.files : (files ?? "");
        const command = spec.command.map((w) =>
          w.startsWith(FILES_PREFIX) ? `${filesAt}/${w.slice(FILES_PREFIX.length)}` : w,
        );
        let child: ChildProcess;
        let filterFile: FileHandle | null = null;
        if (o.mode === "bwrap") {
          // bubblewrap reads the filter from a descriptor it inherits (the fourth: 0-2 are the pipes).
          const filter = seccompFilter();
          const fh = filter ? await open(join(scratch, "seccomp.bpf"), "w+", 0o600) : null;
          if (fh && filter) await fh.write(filter, 0, filter.length, 0);
          const args = bwrapArgs({
            workspace,
            dropTo: owner(spec.tenantId, spec.area),
            limits,
            node,
            files,
            egress: proxy ? { socket: join(scratch, "proxy.sock"), forwarder: FORWARDER } : null,
            env,
            cwd,
            command,
            seccompFd: fh ? 3 : null,
          });
          try {
            child = spawn(o.bwrap, args, {
              stdio: ["pipe", "pipe", "pipe", ...(fh ? [fh.fd] : [])],
              detached: true,
              env: {},
            });
          } catch (e) {
            await fh?.close();
            throw e;
          }
          filterFile = fh;
        } else {
          child = spawn("/usr/bin/prlimit", [...prlimitArgs(limits), ...command], {
            stdio: "pipe",
            detached: true,
            cwd: join(workspace, posix.relative(INSIDE.workspace, cwd)),
            env: { ...env, PATH: `${dirname(node)}:/usr/bin:/bin` },
          });
        }
        // Nothing is awaited between the spawn and the caller reading the process: a bwrap that fails at
        // once exits meanwhile, and Node then drops what it said (it resumes unread stdio on exit), and an
        // exit nobody listened for left the caller waiting forever.
        const tracked = track(child, limits, refused, async () => {
          await proxy?.close();
          await rm(scratch, { recursive: true, force: true });
        });
        filterFile?.close().catch(() => {}); // the child has its copy of the descriptor
        return tracked;
      } catch (e) {
        await proxy?.close();
        await rm(scratch, { recursive: true, force: true });
        throw e;
      }
    },
  };
}

function baseEnv(spec: SpawnSpec, home: string, proxy: GuardProxy | null, mode: SandboxMode): Record<string, string> {
  const env: Record<string, string> = {
    PATH: INSIDE.path,
    HOME: home,
    TMPDIR: "/tmp",
    LANG: "C.UTF-8",
    PYTHONUNBUFFERED: "1",
    PYTHONDONTWRITEBYTECODE: "1",
    ...spec.env,
  };
  if (proxy) {
    const url = mode === "bwrap" ? `http://127.0.0.1:${INSIDE.proxyPort}` : proxy.url;
    for (const k of ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"]) env[k] = url;
    Object.assign(env, { NODE_USE_ENV_PROXY: "1" }); // Node's fetch honours HTTP_PROXY only when asked (Node 24)
  }
  return env;
}

async function writeFiles(dir: string, files: Readonly<Record<string, string | Uint8Array>>): Promise<string> {
  // Readable by the code's uid (it may not be agentd's); the folder above keeps everyone else out.
  await mkdir(dir, { mode: 0o755 });
  await chmod(dir, 0o755);
  for (const [name, data] of Object.entries(files)) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name) || name.startsWith("."))
      throw new AgentdError(
        "bad_request",
        `a sandbox file name is letters, digits, ., - or _, not ${JSON.stringify(name)}`,
      );
    await writeFile(join(dir, name), data, { mode: 0o644 });
  }
  return dir;
}

/** The process as a SandboxProcess: the wall clock, kill, and the end once its tree is gone. */
function track(
  child: ChildProcess,
  limits: SandboxLimits,
  refused: Refusal[],
  cleanup: () => Promise<void>,
): SandboxProcess {
  let reason: SandboxExit["reason"] = "exit";
  const killTree = () => {
    // bwrap leads its own process group; its death takes the sandbox's pid namespace (every process in it) along.
    try {
      if (child.pid) process.kill(-child.pid, "SIGKILL");
    } catch {
      child.kill("SIGKILL");
    }
  };
  const timer =
    limits.wallMs > 0
      ? setTimeout(() => {
          reason = "timeout";
          killTree();
        }, limits.wallMs)
      : null;
  const exited = new Promise<SandboxExit>((ok) => {
    const done = (code: number | null, signal: NodeJS.Signals | null) => {
      if (timer) clearTimeout(timer);
      cleanup().then(
        () => ok({ code, signal, reason, refused }),
        () => ok({ code, signal, reason, refused }),
      );
    };
    child.once("exit", done);
    child.once("error", () => done(null, null));
  });
  if (!child.stdin || !child.stdout || !child.stderr) throw new Error("spawned without pipes");
  child.stdin.on("error", () => {}); // a process that exits without reading its input is not our error
  return {
    pid: child.pid ?? -1,
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    exited,
    kill() {
      if (reason === "exit") reason = "killed";
      killTree();
    },
  };
}
