#!/usr/bin/env node
// The `agentd` command. Kept tiny, and plain JavaScript on purpose: Node strips a .ts file's types
// with a WebAssembly parser (some 10 MB of memory and tens of milliseconds to load) unless the
// compile cache already holds the file, and the cache can only be turned on from a file loaded
// before it. This file turns it on, so everything after it comes stripped and compiled from the
// cache (from the second start on), then hands the command line to ./cli.
import { enableCompileCache } from "node:module";

enableCompileCache?.();
const { main } = await import("./cli/index.ts");
// Exit at once when the command is done: an idle pooled connection must not keep the process up.
process.exit(await main(process.argv.slice(2)));
