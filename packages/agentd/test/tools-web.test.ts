import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { BlockedAddressError } from "../src/net/errors.ts";
import { parseHTML } from "linkedom";
import { readableText, toText } from "../src/net/readable.ts";
import { httpRequestTool, redact } from "../src/tools/http-request/index.ts";
import type { NetPolicy } from "../src/net/policy.ts";
import type { ToolContext } from "../src/tools/types.ts";
import { webFetchTool } from "../src/tools/web-fetch/index.ts";
import { createRedactor } from "../src/vault/redact.ts";

async function serve(
  t: { after(fn: () => unknown): void },
  handler: (req: IncomingMessage, res: ServerResponse, body: string) => void,
) {
  const server = createServer(async (req, res) => {
    let body = "";
    for await (const c of req) body += c;
    handler(req, res, body);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  t.after(() => {
    server.closeAllConnections();
    return new Promise((ok) => server.close(ok));
  });
  const port = (server.address() as AddressInfo).port;
  return { port, base: `http://127.0.0.1:${port}` };
}

/** What the tools read from their context: the net policy, the vault, a signal. */
function ctx(net: NetPolicy, secrets: Record<string, string> = {}): ToolContext {
  return {
    signal: new AbortController().signal,
    secrets: { get: async (name: string) => secrets[name] ?? null },
    redact: createRedactor(Object.values(secrets)).text,
    services: { net, embedder: null },
  } as unknown as ToolContext;
}

const ARTICLE = `<!doctype html><html><head><title>Tide tables | Harbour News</title>
<style>.x { color: red }</style><script>window.track("SCRIPT-SHOULD-NOT-APPEAR")</script></head>
<body><nav><a href="/">Home</a> <a href="/about">About</a></nav>
<article><h1>Tide tables</h1>
<p>The harbour publishes its tide tables every Monday. High water on Tuesday is at 06:42 and again at 19:03, with a height of 4.1 metres at the inner basin.</p>
<p>Boats drawing more than two metres should not attempt the channel within two hours of low water, according to the harbour master, who also reminded skippers that the pilot boat runs on request.</p>
<p>The full tables for the season are available at the harbour office, together with notes on the spring tides expected in March.</p>
<script>document.write("ANOTHER-SCRIPT")</script>
</article><footer>© Harbour News</footer></body></html>`;

test("readable text: the article with its title, no scripts or styles", () => {
  const r = readableText(Buffer.from(ARTICLE), "text/html; charset=utf-8");
  assert.equal(r.kind, "article");
  assert.match(r.title, /Tide tables/);
  assert.match(r.text, /High water on Tuesday is at 06:42/);
  assert.match(r.text, /pilot boat runs on request\.\n/);
  assert.doesNotMatch(r.text, /SCRIPT|color: red|window\.track/);
});

test("readable text: short pages keep their text, an empty one falls back to the body; text passes; bytes get a note", () => {
  const page = readableText(
    Buffer.from(
      "<html><head><title>Hi</title><script>var SECRET=1</script></head><body><div>Short</div><style>p{}</style><ul><li>one</li><li>two</li></ul></body></html>",
    ),
    "text/html",
  );
  assert.equal(page.title, "Hi");
  assert.match(page.text, /Short/);
  assert.match(page.text, /- one\n- two/);
  assert.doesNotMatch(page.text, /SECRET|p\{\}/);
  const empty = readableText(
    Buffer.from("<html><head><title>Nothing</title></head><body><script>var X=1</script></body></html>"),
    undefined,
  );
  assert.deepEqual(empty, { title: "Nothing", text: "", kind: "page" });
  const { document } = parseHTML(
    "<html><body><p>Kept</p><script>DROPPED()</script><noscript>ALSO</noscript><div>and<br>this</div></body></html>",
  );
  assert.equal(toText(document.body), "Kept\n\nand\nthis");
  assert.equal(readableText(Buffer.from('{"a":1}'), "application/json").text, '{"a":1}');
  assert.equal(readableText(Buffer.from("plain"), "text/plain; charset=utf-8").text, "plain");
  assert.equal(readableText(Buffer.from([0xe9]), "text/plain; charset=iso-8859-1").text, "é");
  const png = readableText(Buffer.from([0x89, 0x50, 0x4e, 0x47]), "image/png");
  assert.equal(png.kind, "other");
  assert.match(png.text, /image\/png, 4 bytes/);
});

test("web_fetch returns a page's readable text, and is refused on loopback unless allowed", async (t) => {
  const s = await serve(t, (_req, res) => res.writeHead(200, { "content-type": "text/html" }).end(ARTICLE));
  const url = `${s.base}/news/tides`;
  assert.equal(webFetchTool.subject?.({ url }), url);
  assert.equal(webFetchTool.untrusted, true);
  await assert.rejects(webFetchTool.run({ url }, ctx({ allowPrivate: false, allowHosts: [] })), BlockedAddressError);
  const out = (await webFetchTool.run(
    webFetchTool.input.parse({ url }),
    ctx({ allowPrivate: false, allowHosts: [`127.0.0.1:${s.port}`] }),
  )) as Record<string, unknown>;
  assert.equal(out.url, url);
  assert.equal(out.status, 200);
  assert.match(String(out.title), /Tide tables/);
  assert.match(String(out.text), /4\.1 metres/);
  assert.equal(out.truncated, false);
  assert.ok(!webFetchTool.input.safeParse({ url: "file:///etc/passwd" }).success);
});

test("http_request injects a bearer secret from the vault and redacts it wherever the server echoes it", async (t) => {
  const SECRET = "sk-live-4f9a8b7c6d5e";
  const s = await serve(t, (req, res, body) => {
    if (req.headers.authorization !== `Bearer ${SECRET}`)
      return res.writeHead(401, { "www-authenticate": "Bearer" }).end("no");
    res.writeHead(200, { "content-type": "application/json", "x-request-id": `req-${SECRET}`, "set-cookie": "s=1" });
    res.end(
      JSON.stringify({
        ok: true,
        method: req.method,
        got: body,
        echo: req.headers.authorization,
        url: `https://x/?k=${encodeURIComponent(SECRET)}`,
      }),
    );
  });
  const net = { allowPrivate: false, allowHosts: [`127.0.0.1:${s.port}`] };
  const args = httpRequestTool.input.parse({
    method: "POST",
    url: `${s.base}/v1/items`,
    headers: { "content-type": "application/json" },
    body: '{"n":1}',
    auth: { secret: "api_token" },
  });
  assert.equal(httpRequestTool.subject?.(args), `POST ${s.base}/v1/items with secret api_token`);
  assert.equal(httpRequestTool.risk, "high");
  assert.equal(httpRequestTool.defaultDecision, "ask");
  const out = (await httpRequestTool.run(args, ctx(net, { api_token: SECRET }))) as {
    status: number;
    headers: Record<string, string>;
    body: string;
  };
  assert.equal(out.status, 200, JSON.stringify(out));
  const parsed = JSON.parse(out.body);
  assert.equal(parsed.echo, "Bearer [secret]");
  assert.equal(parsed.got, '{"n":1}');
  assert.equal(parsed.url, "https://x/?k=[secret]");
  assert.equal(out.headers["x-request-id"], "req-[secret]");
  assert.equal(out.headers["set-cookie"], undefined, "only selected headers come back");
  assert.ok(!JSON.stringify(out).includes(SECRET));

  const unauth = (await httpRequestTool.run({ url: `${s.base}/` }, ctx(net))) as { status: number };
  assert.equal(unauth.status, 401);
  const err = await httpRequestTool
    .run({ url: `${s.base}/`, auth: { secret: "nope" } }, ctx(net, { api_token: SECRET }))
    .then(
      () => assert.fail("ran"),
      (e: Error) => e,
    );
  assert.match(String(err.message), /no secret named "nope"/);
  assert.ok(
    !String(err.message).includes("api_token") && !String(err.message).includes(SECRET),
    "the error lists nothing from the vault",
  );
});

test("http_request sends a secret in a named header; a body cut inside an echoed secret hides its start too", async (t) => {
  const SECRET = "hdr-secret-value-123";
  const s = await serve(t, (req, res) => res.end(`${"x".repeat(999_990)}${String(req.headers["x-api-key"])}`));
  const net = { allowPrivate: false, allowHosts: [`127.0.0.1:${s.port}`] };
  const out = (await httpRequestTool.run(
    { url: `${s.base}/`, auth: { secret: "k", scheme: "header", header: "X-Api-Key" } },
    ctx(net, { k: SECRET }),
  )) as { body: string; truncated: boolean };
  assert.equal(out.truncated, true);
  assert.ok(!out.body.includes("hdr-secr"));
  assert.equal(redact("abc hdr-se", [SECRET], true), "abc [secret]");
  assert.equal(redact("abc hdr-se", [SECRET], false), "abc hdr-se");
  await assert.rejects(
    httpRequestTool.run({ url: `${s.base}/`, auth: { secret: "k", scheme: "header" } }, ctx(net, { k: SECRET })),
    /needs auth\.header/,
  );
});

test("http_request and web_fetch redact every vault value before cutting the text at 7,000 characters", async (t) => {
  const OTHER = "sk-other-vault-value-0123456789";
  const s = await serve(t, (_req, res) =>
    res.writeHead(200, { "content-type": "text/plain" }).end(`${"a".repeat(6_990)}${OTHER} tail`),
  );
  const net = { allowPrivate: false, allowHosts: [`127.0.0.1:${s.port}`] };
  const http = (await httpRequestTool.run(
    httpRequestTool.input.parse({ url: `${s.base}/x` }),
    ctx(net, { other: OTHER }),
  )) as { body: string };
  assert.match(http.body, /^a{6990}\[sec/);
  assert.ok(
    !http.body.includes(OTHER.slice(0, 4)),
    `the head of a secret straddling the cut leaked: ${http.body.slice(6_985, 7_010)}`,
  );
  const page = (await webFetchTool.run(
    webFetchTool.input.parse({ url: `${s.base}/x` }),
    ctx(net, { other: OTHER }),
  )) as { text: string };
  assert.ok(page.text.startsWith("a".repeat(6_990)));
  assert.ok(!page.text.includes(OTHER.slice(0, 4)), "web_fetch too");
});
