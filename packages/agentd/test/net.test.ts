import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { classifyAddress } from "../src/net/address.ts";
import { BlockedAddressError, NetError } from "../src/net/errors.ts";
import { checkUrl, guardedFetch } from "../src/net/guard.ts";
import type { NetPolicy } from "../src/net/policy.ts";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A real HTTP server on 127.0.0.1 only; it and its connections close after the test. */
async function serve(
  t: { after(fn: () => unknown): void },
  handler: Handler,
): Promise<{ port: number; base: string; seen: IncomingMessage[] }> {
  const seen: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    seen.push(req);
    handler(req, res);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  t.after(() => {
    server.closeAllConnections();
    return new Promise((ok) => server.close(ok));
  });
  const port = (server.address() as AddressInfo).port;
  return { port, base: `http://127.0.0.1:${port}`, seen };
}

const closed: NetPolicy = { allowPrivate: false, allowHosts: [] };
const allow = (...hosts: string[]): NetPolicy => ({ allowPrivate: false, allowHosts: hosts });
const opts = { maxBytes: 100_000, timeoutMs: 5_000 };
const hello: Handler = (_req, res) => res.end("hello");

test("loopback is refused by default, with the host, the address and the operator's setting named", async (t) => {
  const s = await serve(t, hello);
  const err = await guardedFetch(`${s.base}/`, {}, closed, opts).catch((e: unknown) => e);
  assert.ok(BlockedAddressError.is(err));
  assert.equal(err.address, "127.0.0.1");
  assert.match(err.message, /127\.0\.0\.1 is a loopback address/);
  assert.match(err.message, /AGENTD_ALLOW_PRIVATE_NET=1/);
  assert.match(err.message, new RegExp(`AGENTD_ALLOW_HOSTS=127\\.0\\.0\\.1:${s.port}`));
  assert.equal(s.seen.length, 0, "nothing was sent");
});

test("an allowed host:port, or allowPrivate, lets a loopback request through", async (t) => {
  const s = await serve(t, hello);
  const r = await guardedFetch(`${s.base}/x?y=1`, {}, allow(`127.0.0.1:${s.port}`), opts);
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), "hello");
  assert.equal(s.seen[0]?.url, "/x?y=1");
  assert.equal((await guardedFetch(`${s.base}/`, {}, { allowPrivate: true, allowHosts: [] }, opts)).status, 200);
  await assert.rejects(
    guardedFetch(`${s.base}/`, {}, allow("127.0.0.1:1"), opts),
    BlockedAddressError,
    "another port is not allowed",
  );
});

test("a host name resolving to a private address is refused (localhost)", async (t) => {
  const s = await serve(t, hello);
  const err = await checkUrl(`http://localhost:${s.port}/`, closed).catch((e: unknown) => e);
  assert.ok(BlockedAddressError.is(err));
  assert.match(err.message, /localhost resolves to (127\.0\.0\.1|::1), a loopback address/);
});

test("IPv4-mapped IPv6, NAT64 and other embeddings of private addresses are refused", async () => {
  for (const url of [
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[64:ff9b::a00:1]/",
    "http://[2002:c0a8:101::]/",
    "http://[::1]/",
    "http://[fe80::1]/",
    "http://[fc00::5]/",
  ]) {
    const err = await checkUrl(url, closed).catch((e: unknown) => e);
    assert.ok(BlockedAddressError.is(err), url);
  }
  const mapped = await checkUrl("http://[::ffff:127.0.0.1]/", closed).then(
    () => assert.fail("allowed"),
    (e: Error) => e,
  );
  assert.match(mapped.message, /loopback address \(IPv4-mapped 127\.0\.0\.1\)/);
  for (const a of [
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
    "169.254.1.1",
  ])
    assert.ok(classifyAddress(a), a);
  for (const a of ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "172.32.0.1"])
    assert.equal(classifyAddress(a), null, a);
});

test("metadata services are refused even when private addresses are allowed, unless the host is listed", async () => {
  const open: NetPolicy = { allowPrivate: true, allowHosts: [] };
  for (const url of [
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://[::ffff:169.254.169.254]/",
  ]) {
    const err = await checkUrl(url, open).catch((e: unknown) => e);
    assert.ok(BlockedAddressError.is(err), url);
    assert.equal(err.reason.kind, "metadata", url);
    assert.match(err.message, /cloud metadata service/);
  }
  assert.equal((await checkUrl("http://169.254.169.254/", allow("169.254.169.254:80"))).allowedBy, "allowHosts");
});

test("public addresses pass the check; other schemes and embedded credentials do not", async () => {
  assert.equal((await checkUrl("https://93.184.216.34/a", closed)).allowedBy, "public");
  assert.equal((await checkUrl("http://[2606:4700::1111]/", closed)).port, 80);
  for (const url of ["ftp://93.184.216.34/", "file:///etc/passwd", "http://user:pw@93.184.216.34/", "not a url"])
    await assert.rejects(checkUrl(url, closed), (e: unknown) => NetError.is(e) && e.code === "bad_url", url);
});

test("a redirect from an allowed host to a private address is refused at that hop", async (t) => {
  for (const target of [
    "http://127.0.0.2/",
    "http://10.0.0.1/admin",
    "http://169.254.169.254/latest/meta-data/",
    "http://localhost/",
  ]) {
    const s = await serve(t, (_req, res) => res.writeHead(302, { location: target }).end());
    const err = await guardedFetch(`${s.base}/start`, {}, allow(`127.0.0.1:${s.port}`), opts).catch((e: unknown) => e);
    assert.ok(BlockedAddressError.is(err), target);
    assert.equal(err.host, new URL(target).hostname);
  }
});

test("redirects are followed and re-checked per hop; credentials do not cross origins", async (t) => {
  const other = await serve(t, (req, res) =>
    res.end(`auth=${req.headers.authorization ?? "none"} key=${req.headers["x-key"] ?? "none"}`),
  );
  const s = await serve(t, (req, res) => {
    if (req.url === "/a") res.writeHead(301, { location: "/b" }).end();
    else if (req.url === "/b") res.writeHead(303, { location: `${other.base}/c` }).end();
    else res.end("?");
  });
  const policy = allow(`127.0.0.1:${s.port}`, `127.0.0.1:${other.port}`);
  const r = await guardedFetch(
    `${s.base}/a`,
    { method: "POST", body: "x", headers: { Authorization: "Bearer t", "X-Key": "k" } },
    policy,
    { ...opts, stripOnRedirect: ["x-key"] },
  );
  assert.equal(r.body.toString(), "auth=none key=none");
  assert.equal(r.url, `${other.base}/c`);
  assert.deepEqual(r.redirects, [`${s.base}/b`, `${other.base}/c`]);
  assert.equal(s.seen[1]?.headers.authorization, "Bearer t", "same origin keeps them");
  assert.equal(other.seen[0]?.method, "GET", "a 303 turns POST into GET");

  const loop = await serve(t, (_req, res) => res.writeHead(302, { location: "/again" }).end());
  await assert.rejects(
    guardedFetch(`${loop.base}/`, {}, allow(`127.0.0.1:${loop.port}`), { ...opts, maxRedirects: 3 }),
    (e: unknown) => NetError.is(e) && e.code === "too_many_redirects",
  );
  assert.equal(loop.seen.length, 4);
});

test("the connection goes to the checked address, keeping the Host header (no DNS rebinding)", async (t) => {
  const s = await serve(t, (req, res) => res.end(String(req.headers.host)));
  let calls = 0;
  // A resolver that answers differently on each call, as a rebinding attacker's DNS would.
  const resolve = async () =>
    calls++ === 0 ? [{ address: "127.0.0.1", family: 4 }] : [{ address: "10.9.9.9", family: 4 }];
  const r = await guardedFetch(`http://rebind.test:${s.port}/`, {}, allow(`rebind.test:${s.port}`), {
    ...opts,
    resolve,
  });
  assert.equal(r.body.toString(), `rebind.test:${s.port}`);
  assert.equal(calls, 1, "resolved once, at the check");
  const twoFaced = async () => [
    { address: "93.184.216.34", family: 4 },
    { address: "127.0.0.1", family: 4 },
  ];
  await assert.rejects(
    checkUrl("http://mixed.test/", closed, { resolve: twoFaced }),
    BlockedAddressError,
    "any private address refuses the host",
  );
});

test("the body is capped (gzip decoded first) and the deadline covers a server that never answers", async (t) => {
  const big = "a".repeat(200_000);
  const s = await serve(t, (req, res) => {
    if (req.url === "/gz") res.writeHead(200, { "content-encoding": "gzip" }).end(gzipSync(big));
    else if (req.url === "/hang") res.flushHeaders();
    else if (req.url === "/silent") return;
    else res.end(big);
  });
  const policy = allow(`127.0.0.1:${s.port}`);
  const r = await guardedFetch(`${s.base}/big`, {}, policy, { maxBytes: 1000, timeoutMs: 5_000 });
  assert.equal(r.body.length, 1000);
  assert.equal(r.truncated, true);
  const gz = await guardedFetch(`${s.base}/gz`, {}, policy, { maxBytes: 5000, timeoutMs: 5_000 });
  assert.equal(gz.body.toString(), "a".repeat(5000));
  assert.equal(gz.truncated, true);
  const whole = await guardedFetch(`${s.base}/big`, {}, policy, { maxBytes: 500_000, timeoutMs: 5_000 });
  assert.equal(whole.truncated, false);
  for (const path of ["/silent", "/hang"]) {
    const started = Date.now();
    const err = await guardedFetch(`${s.base}${path}`, {}, policy, { maxBytes: 1000, timeoutMs: 200 }).catch(
      (e: unknown) => e,
    );
    assert.ok(NetError.is(err) && err.code === "timeout", `${path}: ${String(err)}`);
    assert.ok(Date.now() - started < 2_000);
  }
  const ac = new AbortController();
  const p = guardedFetch(`${s.base}/silent`, {}, policy, { maxBytes: 1000, timeoutMs: 5_000, signal: ac.signal });
  ac.abort(new Error("turn cancelled"));
  await assert.rejects(p, /turn cancelled/);
});
