/**
 * A minimal Chrome DevTools Protocol client for a child started with `--inspect=127.0.0.1:0`: lets
 * bench/agent.ts force a full GC in an unmodified `agentd start` process and read its heap figures.
 */

export interface Inspector {
  /** A full garbage collection, then `process.memoryUsage()` as the process sees it. */
  gcAndMemory(): Promise<NodeJS.MemoryUsage>;
  close(): void;
}

/** The inspector's WebSocket URL from the child's stderr ("Debugger listening on ws://…"), or null. */
export function inspectorUrl(stderr: string): string | null {
  return /Debugger listening on (ws:\/\/\S+)/.exec(stderr)?.[1] ?? null;
}

export async function connectInspector(url: string): Promise<Inspector> {
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener("error", () => reject(new Error(`cannot connect to the inspector at ${url}`)), { once: true });
  });
  let id = 0;
  const pending = new Map<number, (m: { result?: unknown; error?: { message: string } }) => void>();
  ws.addEventListener("message", (e) => {
    const m = JSON.parse(String(e.data)) as { id?: number; result?: unknown; error?: { message: string } };
    if (m.id !== undefined) pending.get(m.id)?.(m);
    pending.delete(m.id ?? -1);
  });
  const call = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve, reject) => {
      pending.set(++id, (m) => (m.error ? reject(new Error(`${method}: ${m.error.message}`)) : resolve(m.result)));
      ws.send(JSON.stringify({ id, method, params }));
    });
  return {
    async gcAndMemory() {
      await call("HeapProfiler.collectGarbage");
      const r = (await call("Runtime.evaluate", { expression: "JSON.stringify(process.memoryUsage())" })) as {
        result: { value: string };
      };
      return JSON.parse(r.result.value) as NodeJS.MemoryUsage;
    },
    close: () => ws.close(),
  };
}
