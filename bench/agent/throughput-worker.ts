// One agentd process of the `throughput` section's processes line (throughput.ts): agentd as `agentd
// start` makes it, on the parent's database, driving its share of the sessions when told to.
import { createAgentd } from "../../packages/agentd/src/app.ts";
import { drive } from "./throughput.ts";

interface Go {
  sessions: number[];
  messages: number;
  prefix: string;
}
const cfg = JSON.parse(process.env.BENCH_AGENTD_PROCESS as string) as {
  dataDir: string;
  databaseUrl?: string;
  pgSchema?: string;
  modelUrl: string;
  adminToken: string;
  tenantId: string;
};
const send = (m: unknown) => new Promise<void>((r) => process.send?.(m, () => r()));

const app = await createAgentd({
  env: {},
  config: {
    dataDir: cfg.dataDir,
    databaseUrl: cfg.databaseUrl,
    pgSchema: cfg.pgSchema,
    adminToken: cfg.adminToken,
    model: { id: "stand-in", baseURL: cfg.modelUrl, apiKey: "bench-key" },
  },
  logger: () => {},
});
await app.start();
await send({ ready: true });
// Each message: a share of the sessions to drive (the warm-up, then the measurement); the answer is their latencies and this process's CPU.
process.on("message", (go: Go) => {
  void (async () => {
    const cpu0 = process.cpuUsage();
    const latency = await drive(app, cfg.tenantId, go.sessions, go.messages, go.prefix);
    const cpu = process.cpuUsage(cpu0);
    await send({ latency, cpuMs: (cpu.user + cpu.system) / 1000 });
  })();
});
process.on("disconnect", () => void app.close().then(() => process.exit(0)));
