import { runConformance } from "@agentd/kernel/conformance";
import { BACKENDS } from "./backends.ts";

for (const backend of BACKENDS) runConformance(backend, { only: ["unmarked-steps"] });
