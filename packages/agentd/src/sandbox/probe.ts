import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NetPolicy } from "../net/policy.ts";
import { runSandboxed } from "./run.ts";
import { createSandbox } from "./runner.ts";

/** What sandboxing on this machine amounts to: it works, or why not and what to do. */
export interface SandboxProbe {
  ok: boolean;
  /** What was found, or what is wrong and how to fix it. */
  text: string;
}

/** The programs a sandbox needs besides bubblewrap (util-linux: present on every Debian). */
const HELPERS = ["/usr/bin/prlimit", "/usr/bin/setpriv"];

/**
 * Runs `true` in a real sandbox (the same arguments run_code uses) and explains a failure: bubblewrap
 * missing, user namespaces off (and which switch), a container that forbids new namespaces.
 */
export async function probeSandbox(bwrap: string | null, net: NetPolicy): Promise<SandboxProbe> {
  if (process.platform !== "linux") return { ok: false, text: "sandboxing needs Linux (bubblewrap and namespaces)" };
  if (!bwrap || !existsSync(bwrap))
    return {
      ok: false,
      text: `bubblewrap is not installed${bwrap ? ` at ${bwrap}` : ""}: apt-get install bubblewrap (or set AGENTD_BWRAP to its path)`,
    };
  const missing = HELPERS.filter((h) => !existsSync(h));
  if (missing.length) return { ok: false, text: `${missing.join(" and ")} missing: apt-get install util-linux` };
  const root = await mkdtemp(join(tmpdir(), "agentd-sandbox-probe-"));
  try {
    const sandbox = createSandbox({ mode: "bwrap", bwrap, root, net });
    const r = await runSandboxed(
      sandbox,
      { tenantId: "probe", area: "probe", command: ["sh", "-c", "id -u"], limits: { wallMs: 15_000 } },
      { maxOutputBytes: 4096 },
    );
    const uid = Number(r.stdout.trim());
    if (r.exit.code === 0 && Number.isInteger(uid) && uid !== 0) {
      const as = process.geteuid?.() === 0 ? "as root: code runs as a uid per tenant and area" : "in a user namespace";
      const python = existsSync("/usr/bin/python3")
        ? ""
        : "; no /usr/bin/python3: run_code's Python fails (apt-get install python3)";
      return { ok: true, text: `bubblewrap works at ${bwrap} (${as}, no network, limits by prlimit)${python}` };
    }
    if (r.exit.code === 0) return { ok: false, text: `the sandbox ran code as uid 0 (${bwrap}): refusing to use it` };
    return { ok: false, text: explain(r.stderr, bwrap) };
  } catch (e) {
    return { ok: false, text: `${bwrap} could not be started: ${(e as Error).message}` };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

function explain(stderr: string, bwrap: string): string {
  const said = stderr.trim().split("\n")[0]?.slice(0, 200) ?? "";
  const asRoot = process.geteuid?.() === 0;
  if (!asRoot) {
    const why = userNamespacesOff();
    if (why) return `user namespaces are off for ordinary users (${why}); bubblewrap said: ${said}`;
  }
  if (/Operation not permitted|No permissions to create/i.test(said))
    return asRoot
      ? `${bwrap} may not create namespaces here (a container without the right: run it with a seccomp profile and capabilities that allow unshare, or run agentd as an ordinary user with user namespaces on); bubblewrap said: ${said}`
      : `${bwrap} may not create namespaces (user namespaces restricted by a security module?); bubblewrap said: ${said}`;
  return `the sandbox failed to start: ${said || "no reason given"}`;
}

/** Which of the kernel's switches turns user namespaces off for ordinary users, and how to turn it on. */
function userNamespacesOff(): string | null {
  const read = (p: string) => {
    try {
      return readFileSync(p, "utf8").trim();
    } catch {
      return null;
    }
  };
  if (read("/proc/sys/user/max_user_namespaces") === "0")
    return "user.max_user_namespaces is 0: sysctl -w user.max_user_namespaces=10000";
  if (read("/proc/sys/kernel/unprivileged_userns_clone") === "0")
    return "kernel.unprivileged_userns_clone is 0: sysctl -w kernel.unprivileged_userns_clone=1";
  if (read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") === "1")
    return "AppArmor restricts them (kernel.apparmor_restrict_unprivileged_userns=1): give bwrap an AppArmor profile that allows userns, or set that sysctl to 0";
  return null;
}
