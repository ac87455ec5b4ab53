// `npm run bench:kernel [-- --store postgres] [-- --quick]`: the kernel benchmarks, one after the other, with the same arguments.
import { spawnSync } from "node:child_process";

const args = process.argv.slice(2);
let failed = false;
for (const script of ["kernel.ts", "kernel-extras.ts"]) {
  const r = spawnSync(process.execPath, [new URL(script, import.meta.url).pathname, ...args], { stdio: "inherit" });
  failed ||= r.status !== 0;
}
process.exit(failed ? 1 : 0);
