// The sandbox: code of a tenant's (run_code, stdio MCP servers) in bubblewrap, one workspace per tenant.
export { DEFAULT_LIMITS, limitsOf } from "./limits.ts";
export { probeSandbox, type SandboxProbe } from "./probe.ts";
export { type RunOutput, runSandboxed } from "./run.ts";
export { createSandbox, FILES_PREFIX, type SandboxOptions } from "./runner.ts";
export type { Sandbox, SandboxExit, SandboxLimits, SandboxMode, SandboxProcess, SpawnSpec } from "./types.ts";
export { sandboxUid } from "./workspace.ts";
