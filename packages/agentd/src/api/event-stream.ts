const KEEPALIVE_MS = 15_000;

/**
 * A Server-Sent Events response whose frames `produce` writes (whole frames, `""` ignored), with a
 * keep-alive comment while nothing moves. `signal` (the request's) stops it when the client leaves:
 * `produce` sees `stop` aborted then, and what it writes after is dropped. `produce` handles its own
 * errors (each stream ends them in its own shape).
 */
export function eventStream(
  signal: AbortSignal,
  produce: (send: (frame: string) => void, stop: AbortSignal) => Promise<void>,
  status = 200,
): Response {
  const enc = new TextEncoder();
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  let keepalive: ReturnType<typeof setInterval> | undefined;
  const body = new ReadableStream<Uint8Array>({
    async start(ctrl) {
      const send = (s: string) => {
        if (s && !stop.signal.aborted) ctrl.enqueue(enc.encode(s));
      };
      keepalive = setInterval(() => send(": keep-alive\n\n"), KEEPALIVE_MS);
      try {
        await produce(send, stop.signal);
      } finally {
        clearInterval(keepalive);
        signal.removeEventListener("abort", onAbort);
        try {
          ctrl.close();
        } catch {
          // already closed by a client that left
        }
      }
    },
    cancel() {
      clearInterval(keepalive);
      stop.abort();
    },
  });
  return new Response(body, {
    status,
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
    },
  });
}
