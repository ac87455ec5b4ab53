#!/usr/bin/env -S node --max-semi-space-size=8 --v8-pool-size=1
// The `agentd` command. Kept tiny, and plain JavaScript on purpose: Node strips a .ts file's types
// with a WebAssembly parser (some 10 MB of memory and tens of milliseconds to load) unless the
// compile cache already holds the file, and the cache can only be turned on from a file loaded
// before it. This file turns it on, so everything after it comes stripped and compiled from the
// cache (from the second start on), then hands the command line to ./cli.
//
// The flags on the first line are read only as the process starts (the `npm start` script passes the
// same; test/cli/bin.test.ts holds them equal). The first caps V8's young generation at 8 MB semi-spaces:
// by default a burst of requests grows it to 64 MB and it stays grown while heartbeats keep
// allocating, which made 10,000 tenants peak at ~306 MB (bench/agent.ts --only density). The second
// gives V8 one background thread, not four: each compiles (Maglev, TurboFan) in zones malloc'd from
// its own glibc arena, freed after a burst but never handed back to the system (heaptrack: 21 MB of
// zones at the peak of 1,000 tenants made; malloc_trim then gives back 26 MB), so idle RSS kept them.
import { enableCompileCache } from "node:module";
import { lazyZodLocales } from "./zod-locales.js";

enableCompileCache?.();
lazyZodLocales();
const { main } = await import("./cli/index.ts");
// Exit at once when the command is done: an idle pooled connection must not keep the process up.
process.exit(await main(process.argv.slice(2)));
