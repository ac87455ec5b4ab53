// Run by user.test.ts as an ordinary uid: agentd's sandbox when agentd is not root (a user namespace).
import { runSandboxed } from "../../src/sandbox/run.ts";
import { createSandbox } from "../../src/sandbox/runner.ts";

const [root] = process.argv.slice(2);
const sandbox = createSandbox({
  mode: "bwrap",
  bwrap: "/usr/bin/bwrap",
  root: root as string,
  net: { allowPrivate: false, allowHosts: [] },
});
const r = await runSandboxed(sandbox, {
  tenantId: "ten_u",
  area: "code",
  command: [
    "sh",
    "-c",
    "id -u; grep CapEff /proc/self/status; echo hi > made; cat /etc/shadow; unshare -U true && echo nested",
  ],
});
process.stdout.write(JSON.stringify(r));
