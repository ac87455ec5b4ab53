import { existsSync, lstatSync, readlinkSync } from "node:fs";
import { prlimitArgs } from "./limits.ts";
import type { SandboxLimits } from "./types.ts";

/** Where things are inside every sandbox. */
export const INSIDE = {
  workspace: "/workspace",
  node: "/opt/agentd/bin/node",
  files: "/opt/agentd/files",
  forwarder: "/opt/agentd/egress-forward.mjs",
  proxySocket: "/run/agentd/proxy.sock",
  /** The port the forwarder listens on inside the sandbox's own network namespace (its loopback only). */
  proxyPort: 3128,
  path: "/opt/agentd/bin:/usr/bin:/bin",
} as const;

/** The system folders bound read-only: programs and libraries, nothing of anyone's data. */
const SYSTEM = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];
/**
 * What of /etc the programs need (the dynamic linker's cache, Debian's alternatives symlinks, CA
 * certificates for HTTPS through the proxy, the time zone, Python's site config); never passwd,
 * shadow, ssh keys or anything else of the machine's.
 */
const ETC = [
  "ld.so.cache",
  "ld.so.conf",
  "ld.so.conf.d",
  "alternatives",
  "ssl",
  "ca-certificates",
  "ca-certificates.conf",
  "localtime",
  "mime.types",
  "python3",
  "python3.11",
  "python3.12",
  "python3.13",
];

export interface BwrapPlan {
  /** The tenant's workspace folder on this machine (read-write at /workspace). */
  workspace: string;
  /** Set when agentd runs as root: the uid and gid the code runs as (no user namespace is needed then). */
  dropTo: number | null;
  limits: SandboxLimits;
  /** The Node binary bound at /opt/agentd/bin/node. */
  node: string;
  /** A folder of extra files bound read-only at /opt/agentd/files. */
  files: string | null;
  /** The egress: the proxy's socket and the forwarder script, bound read-only. */
  egress: { socket: string; forwarder: string } | null;
  env: Record<string, string>;
  cwd: string;
  command: readonly string[];
  /** The file descriptor (of bubblewrap's) holding the seccomp filter (seccomp.ts), or null for none. */
  seccompFd: number | null;
}

/**
 * bubblewrap's arguments for one sandbox. Always: new pid, ipc, uts, cgroup and **network**
 * namespaces (the sandbox's only interface is its own loopback; egress is a unix socket, below),
 * `--die-with-parent` and `--new-session` (no TIOCSTI into agentd's terminal), a fresh /proc and
 * /dev, a size-capped tmpfs /tmp, the system read-only, the workspace read-write, an empty
 * environment plus what the plan lists, then `prlimit` on the command.
 *
 * The uid the code runs as is never root's. As an ordinary user, bubblewrap makes a user namespace
 * (the code's uid maps to agentd's own user and holds no capability outside). As root, a user
 * namespace would map the code's uid to real uid 0, which still owns root's files and /proc/sys
 * entries; instead bubblewrap sets up the mounts as root and `setpriv` drops to an unprivileged
 * uid of the tenant's (one per area) with an empty capability bounding set before anything of the tenant's runs (and
 * NO_NEW_PRIVS, which bubblewrap sets, keeps setuid programs from raising it again).
 */
export function bwrapArgs(p: BwrapPlan): string[] {
  const a: string[] = [
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-net",
    "--unshare-cgroup-try",
    "--die-with-parent",
    "--new-session",
    "--hostname",
    "sandbox",
  ];
  if (p.dropTo === null) a.push("--unshare-user", "--uid", "1000", "--gid", "1000", "--disable-userns");
  else a.push("--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP");
  // Folders bubblewrap makes on its own are owner-only (root's, when agentd is root): these are made readable.
  for (const dir of ["/etc", "/opt", "/opt/agentd", "/opt/agentd/bin", "/run", "/run/agentd"])
    a.push("--perms", "0755", "--dir", dir);
  for (const dir of SYSTEM) a.push(...mirror(dir));
  for (const name of ETC) if (existsSync(`/etc/${name}`)) a.push("--ro-bind", `/etc/${name}`, `/etc/${name}`);
  a.push("--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", String(p.limits.tmpBytes), "--tmpfs", "/tmp");
  a.push("--bind", p.workspace, INSIDE.workspace, "--ro-bind", p.node, INSIDE.node);
  if (p.files) a.push("--ro-bind", p.files, INSIDE.files);
  if (p.egress)
    a.push("--ro-bind", p.egress.forwarder, INSIDE.forwarder, "--bind", p.egress.socket, INSIDE.proxySocket);
  if (p.seccompFd !== null) a.push("--seccomp", String(p.seccompFd));
  a.push("--chdir", p.cwd, "--clearenv");
  for (const [k, v] of Object.entries(p.env)) a.push("--setenv", k, v);
  a.push("--");
  if (p.dropTo !== null)
    a.push(
      "/usr/bin/setpriv",
      `--reuid=${p.dropTo}`,
      `--regid=${p.dropTo}`,
      "--clear-groups",
      "--bounding-set=-all",
      "--inh-caps=-all",
      "--",
    );
  // The forwarder stays outside the limits (it is agentd's code, small, and must outlive a command that hits them).
  if (p.egress) a.push(INSIDE.node, INSIDE.forwarder, String(INSIDE.proxyPort), INSIDE.proxySocket, "--");
  a.push("/usr/bin/prlimit", ...prlimitArgs(p.limits), ...p.command);
  return a;
}

/** A system folder as it is here: a symlink (merged /usr) stays a symlink, a folder is bound read-only, a missing one is left out. */
function mirror(dir: string): string[] {
  try {
    const st = lstatSync(dir);
    if (st.isSymbolicLink()) return ["--symlink", readlinkSync(dir), dir];
    if (st.isDirectory()) return ["--ro-bind", dir, dir];
  } catch {
    // not on this machine
  }
  return [];
}
