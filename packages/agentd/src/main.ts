#!/usr/bin/env node
// The `agentd` command. Kept tiny: the compile cache is turned on before anything heavy is loaded
// (it spares Node stripping and compiling the same TypeScript again on every start), then the
// command line is handed to ./cli.
import { enableCompileCache } from "node:module";

enableCompileCache?.();
const { main } = await import("./cli/index.ts");
// Exit at once when the command is done: an idle pooled connection must not keep the process up.
process.exit(await main(process.argv.slice(2)));
