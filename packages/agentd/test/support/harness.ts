import { type ChildProcess, spawn } from "node:child_process";

/**
 * Child processes running an `agentd` entry (`script` with `args`) for crash tests: `start` resolves
 * at the ready line, `exited` with the signal that ended a process; every one still alive is
 * SIGKILLed after the test. `output` is everything every one of them wrote (its logs), in order.
 */
export function processes(
  t: { after(fn: () => unknown): void },
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
) {
  const procs: ChildProcess[] = [];
  const output: string[] = [];
  t.after(() => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  });
  return {
    output,
    start: (): Promise<ChildProcess> =>
      new Promise((resolve, reject) => {
        const p = spawn(process.execPath, [script, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
        procs.push(p);
        let err = "";
        p.stderr!.on("data", (d) => {
          err += d;
          output.push(String(d));
        });
        p.stdout!.on("data", (d) => {
          output.push(String(d));
          if (String(d).includes("agentd ready")) resolve(p);
        });
        p.on("exit", (code, sig) => reject(new Error(`agentd exited (${code ?? sig}) before ready: ${err}`)));
      }),
    exited: (p: ChildProcess): Promise<NodeJS.Signals | null> =>
      new Promise((res) =>
        p.exitCode !== null || p.signalCode !== null ? res(p.signalCode) : p.on("exit", (_c, sig) => res(sig)),
      ),
  };
}
