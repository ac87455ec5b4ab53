import { eventStream } from "../api/event-stream.ts";

/**
 * A stream as OpenAI's clients read it: `data: <json>` frames. The request's `signal` stops it when
 * the client leaves (`produce` sees `stop` aborted); the turn behind it is a durable run and goes
 * on. When producing fails (a fault of ours), `failed` logs it and gives the last frame, in the
 * shape of the API it answers for.
 */
export function sseResponse(
  signal: AbortSignal,
  produce: (send: (data: unknown) => void, stop: AbortSignal) => Promise<void>,
  failed: (e: unknown) => unknown,
): Response {
  return eventStream(signal, async (write, stop) => {
    const send = (data: unknown) => write(`data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`);
    try {
      await produce(send, stop);
    } catch (e) {
      if (!stop.aborted) send(failed(e));
    }
  });
}
