// Runs inside a sandbox that has no network (plain JavaScript: the sandbox's Node may be any version).
// Programs there speak HTTP to a proxy at 127.0.0.1:<port> (HTTP_PROXY); this carries each such
// connection to agentd's guard proxy through the unix socket bound into the sandbox, then runs the
// command and ends as it ends. Killing this only takes the sandbox's own egress away.
import { spawn } from "node:child_process";
import net from "node:net";

const [port, socketPath, sep, ...command] = process.argv.slice(2);
if (!port || !socketPath || sep !== "--" || command.length === 0) {
  process.stderr.write("usage: egress-forward.mjs <port> <socket> -- <command…>\n");
  process.exit(2);
}

const server = net.createServer((inside) => {
  const outside = net.connect(socketPath);
  inside.pipe(outside).pipe(inside);
  inside.on("error", () => outside.destroy());
  outside.on("error", () => inside.destroy());
});
server.listen(Number(port), "127.0.0.1", () => {
  const child = spawn(command[0], command.slice(1), { stdio: "inherit" });
  child.on("error", (e) => {
    process.stderr.write(`${command[0]}: ${e.message}\n`);
    process.exit(127);
  });
  for (const s of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(s, () => child.kill(s));
  child.on("exit", (code, signal) => {
    server.close();
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    }
    process.exit(code ?? 1);
  });
});
