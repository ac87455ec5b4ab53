// A tenant's webhook receiver for the tests, on 127.0.0.1.
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A tenant's webhook receiver on 127.0.0.1: records each request and answers the next scripted status (200 when none). */
export async function receiver(t: { after(fn: () => unknown): void }) {
  const got: Received[] = [];
  const statuses: number[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      got.push({ headers: req.headers, body });
      res.writeHead(statuses.shift() ?? 200).end("ok");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => new Promise((r) => server.close(r)));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { got, statuses, host, url: `http://${host}/hook` };
}
