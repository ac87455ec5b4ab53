import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { WorkflowContext } from "@agentd/kernel";
import { alwaysOf, policies } from "../../src/agent/policy.ts";
import { globMatch } from "../../src/agent/glob.ts";
import { policy } from "../../src/agent/tool-call/checks.ts";
import type { CallEnv, CallInFlight } from "../../src/agent/tool-call/types.ts";
import { commandSubject } from "../../src/tools/ssh/index.ts";
import { testAgentd } from "../support/app.ts";
import { BACKENDS } from "../support/backends.ts";

for (const b of BACKENDS) {
  describe(`ssh command policy (${b.name})`, () => {
    test("patterns over '<command> (on <host>)': allowed, denied, asked; an allow never covers a chained command; no command passes for another host", async (t) => {
      const { app, tenantId } = await testAgentd(t, b, { noModel: true });
      const scope = app.tenants.scope(tenantId);
      const tool = app.tools.get("ssh")!;
      for (const [pattern, decision] of [
        ["systemctl status *", "allow"],
        ["rm -rf *", "deny"],
        ["uptime (on web1)", "allow"],
      ] as const)
        await policies.set(scope, { tool: "ssh", pattern, decision }, Date.now());
      // The policy stage as a turn runs it (its step runs inline here).
      const ctx = { step: (_name: string, fn: () => unknown) => fn() } as unknown as WorkflowContext;
      const decide = async (host: string, command: string) => {
        const c: CallInFlight = {
          tool,
          call: { id: "c", name: "ssh", input: { host, command } },
          key: "0:c",
          args: { host, command },
          subject: commandSubject({ host, command }),
          asks: false,
        };
        const answer = await policy.run(c, { ctx, scope } as unknown as CallEnv);
        return answer ?? (c.asks ? "ask" : "allow");
      };
      assert.equal(
        commandSubject({ host: "web1", command: "systemctl status nginx" }),
        "systemctl status nginx (on web1)",
      );
      assert.equal(await decide("web1", "systemctl status nginx"), "allow");
      assert.equal(
        await decide("db2", "systemctl status postgresql"),
        "allow",
        "a pattern without a host covers every host",
      );
      assert.match(await decide("web1", "rm -rf /var/lib"), /^denied by policy \(deny ssh rm -rf \*\)/);
      assert.equal(await decide("web1", "reboot"), "ask", "everything else asks (the tool's default)");
      for (const chained of [
        "systemctl status nginx; rm -rf /",
        "systemctl status x && reboot",
        "systemctl status x | sh",
        "systemctl status $(reboot)",
        "systemctl status `reboot`",
        "systemctl status x > /etc/passwd",
        "systemctl status x\nreboot",
      ])
        assert.equal(await decide("web1", chained), "ask", JSON.stringify(chained));
      assert.equal(await decide("web1", "uptime"), "allow");
      assert.equal(await decide("web2", "uptime"), "ask", "a host's pattern covers that host only");
      assert.equal(await decide("web2", "uptime (on web1)"), "ask", "a command cannot pass for another host's");
      // "Always" allows the exact command on the host, never more: a * in it is no wildcard.
      const always = alwaysOf(tool, { host: "web1", command: "ls /var/log/*" });
      assert.equal(always.shown, 'exactly "ls /var/log/*" on web1');
      assert.equal(globMatch(always.pattern, commandSubject({ host: "web1", command: "ls /var/log/*" })), false);
      assert.equal(
        globMatch(always.pattern, commandSubject({ host: "web1", command: "ls /var/log/x; reboot" })),
        false,
      );
      const exact = alwaysOf(tool, { host: "web1", command: "df -h" });
      assert.equal(globMatch(exact.pattern, commandSubject({ host: "web1", command: "df -h" })), true);
      assert.equal(globMatch(exact.pattern, commandSubject({ host: "web2", command: "df -h" })), false);
    });
  });
}
