#!/usr/bin/env node
// `node src/main.ts` still runs the `agentd` command; the command itself is ./main.js (the package's
// bin), plain JavaScript so that Node needs no TypeScript parser at start (see there).
import "./main.js";
