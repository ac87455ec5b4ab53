import { parseArgs } from "node:util";

// ---- arguments ------------------------------------------------------------------------------------

const SECTIONS = [
  "start",
  "memory",
  "request",
  "overhead",
  "ttft",
  "clients",
  "throughput",
  "idle",
  "density",
] as const;
export type Section = (typeof SECTIONS)[number];
/** Sections measured once per store; the others (an `agentd start` process, on SQLite) run once, when SQLite is measured. */
export const PER_STORE: readonly Section[] = ["request", "overhead", "ttft", "clients", "throughput", "idle"];
/** Sections measured only when `--only` names them: `density` takes some 3 minutes of its own. */
const ON_REQUEST: readonly Section[] = ["density"];
const DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/test";

export const { values: argv } = parseArgs({
  options: {
    store: { type: "string", default: "" },
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (argv.help) {
  process.stderr.write(
    `usage: node bench/agent.ts [--store sqlite|postgres|both] [--quick] [--only ${SECTIONS.join(",")}]\n` +
      `  default store: both when Postgres answers (DATABASE_URL, default ${DEFAULT_PG_URL}), else sqlite\n`,
  );
  process.exit(0);
}
if (!["", "sqlite", "postgres", "both"].includes(argv.store))
  throw new Error(`--store ${argv.store}: unknown (sqlite, postgres or both)`);
export const QUICK = argv.quick;
export const only = new Set<Section>(
  argv.only
    ? argv.only.split(",").map((s) => {
        if (!(SECTIONS as readonly string[]).includes(s))
          throw new Error(`--only ${s}: unknown section (known: ${SECTIONS.join(", ")})`);
        return s as Section;
      })
    : SECTIONS.filter((s) => !ON_REQUEST.includes(s)),
);
export const PG_URL = process.env.DATABASE_URL || DEFAULT_PG_URL;

/** Sizes of each measurement; --quick is a smoke run of a few seconds a section. */
export const SIZE = QUICK
  ? {
      turns: 20,
      direct: 5,
      pairs: 10,
      sessions: 20,
      messages: 3,
      idleTenants: 200,
      idleSeconds: 5,
      starts: 2,
      memTenants: 200,
      memIdle: 2,
      densityTenants: 500,
      densityPeriod: 10,
    }
  : {
      turns: 200,
      direct: 30,
      pairs: 60,
      sessions: 100,
      messages: 5,
      idleTenants: 1000,
      idleSeconds: 30,
      starts: 5,
      memTenants: 1000,
      memIdle: 5,
      densityTenants: 10_000,
      densityPeriod: 60,
    };
/** The fixed token rate: a reply of 20 chunks of 4 characters (the stand-in's default chunk), one every 5 ms. */
export const TOKENS = 20;
export const TOKEN_DELAY_MS = 5;
export const REPLY = "abc ".repeat(TOKENS);
export const FIRST_TOKEN_DELAY_MS = 50;
export const TURNS_PER_CONVERSATION = 20;
export const HEARTBEAT_EVERY_SECOND = "* * * * * *";
export const HEARTBEAT_IDLE = "*/30 * * * *";
