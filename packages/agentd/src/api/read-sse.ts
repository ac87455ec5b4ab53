// Reading a Server-Sent Events answer of agentd's API: the CLI's chat and the MCP server's tools follow turns with it.

/** One Server-Sent Event: its name (`message` when unnamed), its data parsed as JSON, its id. */
export interface SseEvent {
  event: string;
  data: unknown;
  id: string | null;
}

/** Parses a text/event-stream body into events, yielding each as soon as its blank line arrives. */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  let buffer = "";
  let event = "";
  let data: string[] = [];
  let id: string | null = null;
  for await (const text of body.pipeThrough(new TextDecoderStream())) {
    buffer += text;
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl).replace(/\r$/, "");
      buffer = buffer.slice(nl + 1);
      if (line === "") {
        if (data.length > 0) yield { event: event || "message", data: parseData(data.join("\n")), id };
        event = "";
        data = [];
        continue;
      }
      if (line.startsWith(":")) continue; // a comment: keep-alive
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
      else if (field === "id") id = value;
    }
  }
}

function parseData(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}
