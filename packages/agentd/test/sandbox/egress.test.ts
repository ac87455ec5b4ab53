import assert from "node:assert/strict";
import { createServer } from "node:http";
import { test } from "node:test";
import { sandboxFor, sh, skip } from "./rig.ts";

/** A site on the host's 127.0.0.1 that the operator allowed (AGENTD_ALLOW_HOSTS), counting its visitors. */
async function allowedSite(t: { after(fn: () => unknown): void }) {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(req.url ?? "");
    res.end(`hello ${req.url}`);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  t.after(() => server.close());
  return { port: (server.address() as { port: number }).port, seen };
}

const fetchPy = (url: string) =>
  `python3 -c "
import urllib.request, sys
try:
    print(urllib.request.urlopen('${url}', timeout=5).read().decode())
except Exception as e:
    print('failed', e)
"`;

test("egress goes through the guard proxy: an allowed host answers, a private address is refused", {
  skip,
}, async (t) => {
  const site = await allowedSite(t);
  const { sandbox } = sandboxFor(t, { allowHosts: [`127.0.0.1:${site.port}`] });
  const ok = await sh(sandbox, fetchPy(`http://127.0.0.1:${site.port}/from-python`), { egress: true });
  assert.equal(ok.stdout, "hello /from-python\n", ok.stderr);
  const js = await sh(sandbox, "", {
    command: ["node", "-e", `fetch("http://127.0.0.1:${site.port}/from-node").then(r => r.text()).then(console.log)`],
    egress: true,
  });
  assert.equal(js.stdout, "hello /from-node\n", js.stderr);
  assert.deepEqual(site.seen, ["/from-python", "/from-node"]);

  const refused = await sh(sandbox, `${fetchPy("http://10.1.2.3/")}; ${fetchPy("http://169.254.169.254/latest/")}`, {
    egress: true,
  });
  assert.match(refused.stdout, /failed HTTP Error 403/);
  assert.deepEqual(
    refused.exit.refused.map((r) => r.url),
    ["http://10.1.2.3/", "http://169.254.169.254/latest/"],
  );
  assert.match(refused.exit.refused[0]?.reason ?? "", /private address/);
});

test("without egress the same request cannot leave: no proxy, no network", { skip }, async (t) => {
  const site = await allowedSite(t);
  const { sandbox } = sandboxFor(t, { allowHosts: [`127.0.0.1:${site.port}`] });
  const r = await sh(sandbox, `echo "proxy=$HTTP_PROXY"; ${fetchPy(`http://127.0.0.1:${site.port}/x`)}`);
  assert.match(r.stdout, /^proxy=\nfailed .*Connection refused/);
  assert.deepEqual(site.seen, []);
});

test("a raw CONNECT through the egress socket to a host the guard refuses gets 403 and never arrives", {
  skip,
}, async (t) => {
  const site = await allowedSite(t);
  const { sandbox } = sandboxFor(t);
  // CONNECT to a host the guard refuses (the site is on 127.0.0.1 and not allowed in this sandbox).
  const r = await sh(
    sandbox,
    `python3 -c "
import socket
s = socket.create_connection(('127.0.0.1', 3128), timeout=5)
s.sendall(b'CONNECT 127.0.0.1:${site.port} HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')
print(s.recv(100).decode().split('\\r\\n')[0])
"`,
    { egress: true },
  );
  assert.equal(r.stdout, "HTTP/1.1 403 Forbidden\n", r.stderr);
  assert.deepEqual(site.seen, []);
  assert.match(r.exit.refused[0]?.reason ?? "", /loopback/);
});
