import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";

/** Debian's OpenSSH server, started by a test on 127.0.0.1 with its own host key and authorized keys in a temp dir. */
export interface TestSshd {
  port: number;
  user: string;
  /** `SHA256:…` of its ed25519 host key, as ssh-keygen prints it. */
  fingerprint: string;
  dir: string;
  /** Adds a line to its authorized_keys (read on every login). */
  authorize(publicKey: string): void;
  /** Replaces authorized_keys. */
  authorized(lines: string[]): void;
  close(): Promise<void>;
}

export const SSHD = "/usr/sbin/sshd";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Starts sshd -D on a free port of 127.0.0.1 (the privilege separation folder /run/sshd made if missing). */
export async function startSshd(t: { after(fn: () => unknown): void }): Promise<TestSshd> {
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(join(tmpdir(), "agentd-sshd-"));
  const hostKey = join(dir, "host_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKey]);
  const fingerprint = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", `${hostKey}.pub`], {
    encoding: "utf8",
  }).split(" ")[1] as string;
  const keys = join(dir, "authorized_keys");
  writeFileSync(keys, "", { mode: 0o600 });
  const port = await freePort();
  const cfg = join(dir, "sshd_config");
  writeFileSync(
    cfg,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      "UsePAM no",
      "StrictModes no",
      `AuthorizedKeysFile ${keys}`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin prohibit-password",
      "Subsystem sftp internal-sftp",
      "MaxSessions 50",
      "MaxStartups 100:30:200",
      "LogLevel ERROR",
      // bash run by sshd sources ~/.bashrc (Debian builds it so); a shell level of 2 skips that, so
      // whatever the machine's own ~/.bashrc does (seconds of pyenv here) is not timed as the command.
      "SetEnv SHLVL=1",
      "",
    ].join("\n"),
  );
  const proc: ChildProcess = spawn(SSHD, ["-D", "-e", "-f", cfg], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  proc.stderr!.on("data", (d) => (err += d));
  const close = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const gone = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  t.after(close);
  await waitListening(port, proc, () => err);
  return {
    port,
    user: userInfo().username,
    fingerprint,
    dir,
    authorize: (line) => appendFileSync(keys, `${line.trim()}\n`),
    authorized: (lines) => writeFileSync(keys, lines.map((l) => `${l.trim()}\n`).join("")),
    close,
  };
}

async function waitListening(port: number, proc: ChildProcess, err: () => string): Promise<void> {
  const { connect } = await import("node:net");
  const end = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`sshd exited (${proc.exitCode}): ${err()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.once("data", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`sshd did not listen on 127.0.0.1:${port}: ${err()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const readText = (p: string) => readFileSync(p, "utf8");
