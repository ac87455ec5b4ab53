/**
 * A worker SIGKILLed in the middle of a browser step: the turn completes on restart, the page is
 * reopened in a new Chromium with the tenant's login restored from the vault, and the form submitted
 * by a step that had completed is not submitted again.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { policies } from "../../src/agent/policy.ts";
import { findChromium } from "../../src/tools/browser/index.ts";
import { crashBase } from "../support/crash-rig.ts";
import { BACKENDS } from "../support/backends.ts";
import { startSite } from "../support/browser-site.ts";
import type { RecordedRequest } from "../support/model-server.ts";
import { until } from "../support/wait.ts";

const WORKER = fileURLToPath(new URL("../procs/agentd-worker.ts", import.meta.url));
const skip = findChromium() ? false : "no Chromium installed (apt-get install chromium); browser tests skip";

/** Chromium processes whose parent is `pid` (a worker's browser). */
function chromiumsOf(pid: number): number[] {
  const out = execFileSync("ps", ["-e", "-o", "pid=,ppid=,comm="], { encoding: "utf8" });
  return out
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => Number(f[1]) === pid && /chrom/.test(f[2] ?? ""))
    .map((f) => Number(f[0]));
}

for (const b of BACKENDS) {
  describe(`crash: SIGKILL during a browser step (${b.name})`, { skip }, () => {
    test("the turn completes on restart, logged in from the vault, the completed form post not replayed", {
      timeout: 180_000,
    }, async (t) => {
      const site = await startSite();
      t.after(() => site.close());
      const { place, model, env, client, tenantId } = await crashBase(t, b, {
        tenant: "browsing",
        env: { AGENTD_ALLOW_HOSTS: site.host },
      });
      env.AGENTD_DATA = place.dataDir;
      await policies.set(
        client.tenants.scope(tenantId),
        { tool: "browser_act", pattern: `* ${site.url}/*`, decision: "allow" },
        Date.now(),
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

      const lastTool = (req: RecordedRequest) => String(req.body.messages.at(-1)?.content ?? "");
      const refIn = (text: string, line: RegExp) =>
        new RegExp(`${line.source}.*?\\[ref=((?:f\\d+)?e\\d+)\\]`).exec(text)?.[1] ?? "e0";
      const login = `${site.url}/login`;
      model.script(
        { toolCalls: [{ name: "browser", arguments: { action: "open", url: login } }] },
        (req) => ({
          toolCalls: [
            {
              name: "browser_act",
              arguments: { action: "type", url: login, ref: refIn(lastTool(req), /textbox "Username"/), text: "ada" },
            },
          ],
        }),
        (req) => ({
          toolCalls: [
            {
              name: "browser_act",
              arguments: {
                action: "type",
                url: login,
                ref: refIn(lastTool(req), /textbox "Password"/),
                text: "ada-pw",
                submit: true,
              },
            },
          ],
        }),
        { toolCalls: [{ name: "browser", arguments: { action: "open", url: `${site.url}/me` } }] },
        { text: "Signed in and checked." },
      );

      let w = await worker();
      const browserOf = w.pid!;
      // The first visit to /me (a step after the login's completed) kills the worker mid-step.
      let killed = false;
      site.once("/me", async () => {
        assert.ok(chromiumsOf(browserOf).length > 0, "the worker runs its own Chromium");
        w.kill("SIGKILL");
        killed = true;
        await new Promise((r) => setTimeout(r, 200));
      });
      const r = await client.inbox.receive({
        tenantId,
        channel: "http",
        conversation: "c",
        text: "sign in and check my account",
      });
      await until(() => killed, "the worker to be killed on /me", 90_000);
      await new Promise<void>((ok) => (w.exitCode !== null || w.signalCode !== null ? ok() : w.on("exit", () => ok())));
      assert.deepEqual(
        site.posts.map((p) => p.path),
        ["/login"],
      );
      await until(
        () => chromiumsOf(browserOf).length === 0,
        "the killed worker's Chromium to exit with it (its pipe closed)",
        20_000,
      );

      w = await worker();
      const out = await client.kernel.result<{ text: string }>(r.runId);
      assert.equal(out.text, "Signed in and checked.");
      assert.deepEqual(
        site.posts.map((p) => p.path),
        ["/login"],
        "the completed login step is not replayed",
      );
      const afterRestart = lastTool(model.requests.at(-1)!);
      assert.match(afterRestart, /Page: Account — http:\/\/127\.0\.0\.1:\d+\/me/);
      assert.match(afterRestart, /Signed in as ada/, "a new Chromium, logged in from the state sealed in the vault");
      w.kill("SIGTERM");
    });
  });
}
