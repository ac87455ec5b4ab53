import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./sshd.ts";

export const WEBSOCKIFY = "/usr/bin/websockify";

/** websockify checks the same bearer header agentd sends, through an auth plugin of its own kind. */
const PLUGIN = `from websockify.auth_plugins import AuthenticationError
import hmac

class BearerAuth():
    def __init__(self, src=None):
        self.src = src

    def authenticate(self, headers, target_host, target_port):
        given = headers.get('Authorization') or ''
        if not hmac.compare_digest(given, 'Bearer ' + self.src):
            raise AuthenticationError(response_code=401, response_msg='Unauthorized')
`;

/**
 * Debian's websockify on 127.0.0.1, forwarding WebSocket tunnels to 127.0.0.1:<to>, with a bearer token;
 * with `tls` (PEM files), over TLS only (wss://).
 */
export async function startWebsockify(
  t: { after(fn: () => unknown): void },
  to: number,
  token: string,
  tls?: { cert: string; key: string },
): Promise<{ url: string; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "agentd-websockify-"));
  writeFileSync(join(dir, "bearer.py"), PLUGIN);
  const port = await freePort();
  const proc: ChildProcess = spawn(
    WEBSOCKIFY,
    [
      ...(tls ? ["--cert", tls.cert, "--key", tls.key, "--ssl-only"] : []),
      "--auth-plugin",
      "bearer.BearerAuth",
      "--auth-source",
      token,
      `127.0.0.1:${port}`,
      `127.0.0.1:${to}`,
    ],
    { env: { ...process.env, PYTHONPATH: dir }, stdio: ["ignore", "ignore", "pipe"] },
  );
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
  const end = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`websockify exited (${proc.exitCode}): ${err}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > end) throw new Error(`websockify did not listen: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `${tls ? "wss" : "ws"}://127.0.0.1:${port}/`, close };
}
