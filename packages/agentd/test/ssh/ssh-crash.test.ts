/**
 * A worker SIGKILLed while an ssh command runs on the host: the retry does not run the command again
 * silently. Its outcome is unknown, so a person is asked (and the command runs again only once they
 * approve); a command the host marks idempotent runs again by itself.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { approvals } from "../../src/agent/approvals.ts";
import { policies } from "../../src/agent/policy.ts";
import { crashBase } from "../support/crash-rig.ts";
import { BACKENDS, type Backend } from "../support/backends.ts";
import type { RecordedRequest } from "../support/model-server.ts";
import { SSHD, startSshd } from "../support/sshd.ts";
import { until } from "../support/wait.ts";

const WORKER = fileURLToPath(new URL("../procs/agentd-worker.ts", import.meta.url));
const skip = existsSync(SSHD) ? false : "no sshd (apt-get install openssh-server); ssh tests skip";
const lines = (path: string) => (existsSync(path) ? readFileSync(path, "utf8").split("\n").filter(Boolean) : []);

async function rig(t: { after(fn: () => unknown): void }, b: Backend, idempotent: string[]) {
  const sshd = await startSshd(t);
  const { place, model, env, client, tenantId } = await crashBase(t, b, {
    tenant: "ops",
    net: { allowPrivate: false, allowHosts: [`127.0.0.1:${sshd.port}`] },
    env: { AGENTD_ALLOW_HOSTS: `127.0.0.1:${sshd.port}` },
  });
  env.AGENTD_DATA = place.dataDir;
  const scope = client.tenants.scope(tenantId);
  const added = await client.ssh.addHost(scope, {
    name: "box",
    address: "127.0.0.1",
    port: sshd.port,
    user: sshd.user,
    fingerprint: sshd.fingerprint,
    idempotent,
  });
  sshd.authorize(added.publicKey);
  await policies.set(scope, { tool: "ssh", pattern: "sh *", decision: "allow" }, Date.now());
  // The job records each run on the host, then waits for the test (the worker dies meanwhile).
  const job = join(sshd.dir, "job.sh");
  const runs = join(sshd.dir, "runs.log");
  const go = join(sshd.dir, "go");
  writeFileSync(job, `echo run >> ${runs}\nwhile [ ! -f ${go} ]; do sleep 0.1; done\necho finished\n`);
  model.script(
    { toolCalls: [{ name: "ssh", arguments: { host: "box", command: `sh ${job}` } }] },
    (req: RecordedRequest) => ({ text: `Result: ${String(req.body.messages.at(-1)?.content ?? "")}` }),
  );
  const procs: ChildProcess[] = [];
  t.after(() => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  });
  const worker = () =>
    new Promise<ChildProcess>((resolve, reject) => {
      const p = spawn(process.execPath, [WORKER], { env, stdio: ["ignore", "pipe", "pipe"] });
      procs.push(p);
      let err = "";
      p.stderr!.on("data", (d) => (err += d));
      p.stdout!.on("data", (d) => String(d).includes("ready") && resolve(p));
      p.on("exit", (code, sig) => reject(new Error(`worker exited (${code ?? sig}) before ready: ${err}`)));
    });
  const killDuringCommand = async () => {
    const w = await worker();
    const r = await client.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "run the job" });
    await until(() => lines(runs).length === 1, "the command to start on the host", 60_000);
    w.kill("SIGKILL");
    await new Promise<void>((ok) => (w.exitCode !== null || w.signalCode !== null ? ok() : w.on("exit", () => ok())));
    writeFileSync(go, ""); // the orphaned command on the host ends; whatever runs next does not wait
    return r.runId;
  };
  return { client, scope, runs, worker, killDuringCommand, sshd };
}

for (const b of BACKENDS) {
  describe(`crash: SIGKILL while an ssh command runs (${b.name})`, { skip }, () => {
    test("the retry asks a person before running it again (the outcome unknown), and runs it again only once approved", {
      timeout: 240_000,
    }, async (t) => {
      const { client, scope, runs, worker, killDuringCommand } = await rig(t, b, []);
      const runId = await killDuringCommand();
      await worker();
      const ask = await until(
        async () => (await approvals.list(scope)).find((a) => a.status === "pending"),
        "the approval to run it again",
        60_000,
      );
      assert.match(
        ask.subject,
        /^RUN AGAIN\? the last attempt's outcome is unknown \(its worker stopped while it ran\): sh \S+job\.sh \(on box\)$/,
      );
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(lines(runs).length, 1, "not run again while the person has not answered");
      await approvals.decide(scope, ask.id, "once", "test", Date.now(), client.kernel);
      const out = await client.kernel.result<{ text: string }>(runId);
      assert.equal(lines(runs).length, 2, "run again once approved");
      assert.match(out.text, /first attempt's outcome is unknown/);
      assert.match(out.text, /finished/);
    });

    test("a command the host marks idempotent runs again by itself, without asking", {
      timeout: 240_000,
    }, async (t) => {
      const { client, scope, runs, worker, killDuringCommand } = await rig(t, b, ["sh *job.sh"]);
      const runId = await killDuringCommand();
      await worker();
      const out = await client.kernel.result<{ text: string }>(runId);
      assert.match(out.text, /finished/);
      assert.equal(lines(runs).length, 2);
      assert.deepEqual(await approvals.list(scope), [], "no one was asked");
    });
  });
}
