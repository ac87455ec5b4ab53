// `agentd migrate`.
import { DATA, STORE_ENV } from "./common.ts";

export const MIGRATE_HELP = `Usage: agentd migrate [--data <dir>]

Applies the migrations the database lacks (the kernel's store and the OS data) and reports the
schema versions before and after. \`agentd start\` does the same on start; run this to upgrade
ahead of time, e.g. once before rolling out a new version to a cluster.

Options:
${DATA}

Environment:
${STORE_ENV}
`;
