import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { McpServerDef, type McpServer } from "../../src/mcp/definition.ts";
import { McpPool } from "../../src/mcp/pool.ts";
import { resultText } from "../../src/mcp/results.ts";
import { hostSpawner } from "../../src/mcp/transport/spawn.ts";
import type { TenantScope } from "../../src/tenancy/scope.ts";
import {
  changingFactory,
  EVERYTHING_BIN,
  everythingFactory,
  everythingStdio,
  startHttpMcp,
} from "../support/mcp-servers.ts";
import { until } from "../support/wait.ts";

const tenant = (id: string) => ({ tenantId: id }) as TenantScope;
const secrets = (values: Record<string, string> = {}) => ({ get: async (n: string) => values[n] ?? null });
const server = (def: unknown): McpServer => ({ ...McpServerDef.parse(def), origin: "tenant", createdAt: 0 });
const local = { allowPrivate: false, allowHosts: ["127.0.0.1"] };

function pool(t: { after(fn: () => unknown): void }, opts: Partial<ConstructorParameters<typeof McpPool>[0]> = {}) {
  const clock = { now: 1_000_000 };
  const p = new McpPool({
    net: local,
    spawner: hostSpawner,
    idleMs: 60_000,
    maxPerTenant: 4,
    now: () => clock.now,
    sweepEveryMs: 0,
    ...opts,
  });
  t.after(() => p.close());
  return { p, clock };
}

/** A process that exists and is not a zombie (an orphan nobody reaped yet has ended all the same). */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};

test("server-everything over stdio: tools listed with their schemas, echo and get-sum called, an image a note, resources (text, binary, links) mapped, and its environment only what the definition gives", async (t) => {
  const { p } = pool(t);
  const s = server(everythingStdio("everything", { GREETING: { value: "hello" }, API_TOKEN: { secret: "TOKEN" } }));
  const keys = secrets({ TOKEN: "s3cret-token" });
  const tools = await p.tools(tenant("a"), s, keys);
  const names = tools.map((x) => x.name);
  for (const n of ["echo", "get-sum", "get-tiny-image", "get-env"]) assert.ok(names.includes(n), n);
  const sum = tools.find((x) => x.name === "get-sum")!;
  assert.equal(sum.inputSchema.type, "object");
  assert.ok("a" in (sum.inputSchema.properties ?? {}) && "b" in (sum.inputSchema.properties ?? {}));

  assert.equal(resultText(await p.call(tenant("a"), s, keys, "echo", { message: "hi there" })), "Echo: hi there");
  assert.match(resultText(await p.call(tenant("a"), s, keys, "get-sum", { a: 2, b: 40 })), /42/);
  const image = resultText(await p.call(tenant("a"), s, keys, "get-tiny-image", {}));
  assert.match(image, /\[image image\/png, \d+ bytes: not shown here\]/);
  // Resources: an embedded text one with its URI and text, a binary one named with its type and size, links listed.
  const text = resultText(
    await p.call(tenant("a"), s, keys, "get-resource-reference", { resourceType: "Text", resourceId: 2 }),
  );
  assert.match(
    text,
    /\[resource demo:\/\/resource\/dynamic\/text\/2 \(text\/plain\)\]\nResource 2: This is a plaintext resource/,
  );
  const blob = resultText(
    await p.call(tenant("a"), s, keys, "get-resource-reference", { resourceType: "Blob", resourceId: 3 }),
  );
  // The blob's text ends with the server's toLocaleTimeString(): "9:59:03 PM" is a byte shorter than
  // "10:09:41 PM", so its size is 55 or 56 bytes by the hour of the day.
  const size = /\[resource demo:\/\/resource\/dynamic\/blob\/3 \(text\/plain\), (\d+) bytes: not shown here\]/.exec(
    blob,
  );
  assert.ok(size, blob);
  assert.ok(["55", "56"].includes(size[1] as string), blob);
  const links = resultText(await p.call(tenant("a"), s, keys, "get-resource-links", { count: 2 }));
  assert.match(
    links,
    /\[link Blob Resource 1: demo:\/\/resource\/dynamic\/blob\/1 \(text\/plain\)\]\n\[link Text Resource 2: /,
  );
  const env = JSON.parse(resultText(await p.call(tenant("a"), s, keys, "get-env", {})));
  assert.equal(env.GREETING, "hello");
  assert.equal(env.API_TOKEN, "s3cret-token", "a secret reference is read from the tenant's vault");
  assert.equal(env.PATH, "/usr/local/bin:/usr/bin:/bin");
  for (const k of Object.keys(process.env))
    if (!["PATH", "LANG", "TZ"].includes(k))
      assert.equal(k in env, false, `${k} of agentd's environment was inherited`);
  assert.deepEqual(p.stats(), new Map([["a", 1]]), "one connection, reused for every call");
});

test("server-everything over streamable HTTP on 127.0.0.1, its headers sent from the vault; an older HTTP+SSE server through the fallback", async (t) => {
  const factory = await everythingFactory();
  const http = await startHttpMcp(factory);
  t.after(() => http.close());
  const { p } = pool(t);
  const s = server({
    name: "remote",
    transport: "http",
    url: http.url,
    headers: { Authorization: { secret: "REMOTE_KEY", prefix: "Bearer " } },
  });
  const keys = secrets({ REMOTE_KEY: "k-123" });
  assert.ok((await p.tools(tenant("a"), s, keys)).some((x) => x.name === "echo"));
  assert.equal(resultText(await p.call(tenant("a"), s, keys, "echo", { message: "over http" })), "Echo: over http");
  assert.ok(http.authorizations.length > 1 && http.authorizations.every((a) => a === "Bearer k-123"));

  const old = await startHttpMcp(factory, { sse: true });
  t.after(() => old.close());
  const legacy = server({ name: "legacy", transport: "http", url: old.url });
  assert.equal(
    resultText(await p.call(tenant("a"), legacy, keys, "get-sum", { a: 1, b: 2 })),
    "The sum of 1 and 2 is 3.",
  );
  assert.equal(old.sessions, 1);

  const missing = server({ name: "nokey", transport: "http", url: http.url, headers: { "X-Key": { secret: "NOPE" } } });
  await assert.rejects(p.tools(tenant("a"), missing, keys), /needs the secret NOPE for X-Key, and the vault has none/);
});

test("the auth hook supplies the HTTP transport's credentials per tenant and server; a server that wants an authorization nobody gave fails with code unauthorized", async (t) => {
  const http = await startHttpMcp(await everythingFactory(), { bearer: "tenant-a-token" });
  t.after(() => http.close());
  const asked: string[] = [];
  const { p } = pool(t, {
    auth: ({ tenant: who, server: s, fetch }) => {
      assert.equal(typeof fetch, "function", "the provider gets the guarded fetch for its own requests");
      asked.push(`${who.tenantId}/${s.name}`);
      return who.tenantId === "a" ? { token: async () => "tenant-a-token" } : undefined;
    },
  });
  const s = server({ name: "protected", transport: "http", url: http.url });
  assert.equal(resultText(await p.call(tenant("a"), s, secrets(), "echo", { message: "x" })), "Echo: x");
  await assert.rejects(p.tools(tenant("b"), s, secrets()), (e: Error & { code?: string }) => {
    assert.equal(e.code, "unauthorized");
    assert.match(e.message, /the MCP server "protected" needs an authorization/);
    return true;
  });
  assert.deepEqual(asked, ["a/protected", "b/protected"]);
  assert.ok(http.authorizations.includes(undefined), "tenant b's request went without tenant a's token");
});

test("the SSRF guard stands in front of every HTTP connection: a server on a private address is refused unless the operator allows it", async (t) => {
  const http = await startHttpMcp(await everythingFactory());
  t.after(() => http.close());
  const { p } = pool(t, { net: { allowPrivate: false, allowHosts: [] } });
  const s = server({ name: "remote", transport: "http", url: http.url });
  await assert.rejects(
    p.tools(tenant("a"), s, secrets()),
    /could not connect to the MCP server "remote": .*(loopback|private|127\.0\.0\.1)/,
  );
  assert.equal(http.sessions, 0, "nothing reached the server");
});

test("a server's list_changed refreshes the cached tool list; without it the list is read once per connection", async (t) => {
  const changing = changingFactory();
  const http = await startHttpMcp(changing.factory);
  t.after(() => http.close());
  const { p } = pool(t);
  const s = server({ name: "changing", transport: "http", url: http.url });
  assert.deepEqual(
    (await p.tools(tenant("a"), s, secrets())).map((x) => x.name),
    ["add_numbers"],
  );
  assert.equal(resultText(await p.call(tenant("a"), s, secrets(), "add_numbers", { a: 2, b: 3 })), "5");
  changing.add("late_tool");
  await until(
    async () => (await p.tools(tenant("a"), s, secrets())).some((x) => x.name === "late_tool"),
    "the refreshed list",
  );
  assert.equal(http.sessions, 1, "refreshed on the same connection");
});

test("an idle connection is closed by the sweep on the pool's clock, and a stdio server's whole process tree is killed", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "agentd-mcp-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pidFile = join(dir, "child.pid");
  const { p, clock } = pool(t);
  // The server starts a child of its own (a sleep) before it serves: killing only the server would leave it.
  const s = server({
    name: "tree",
    transport: "stdio",
    command: "/bin/sh",
    args: ["-c", `sleep 1000 & echo $! > ${pidFile}; exec ${process.execPath} ${EVERYTHING_BIN} stdio`],
  });
  assert.ok((await p.tools(tenant("a"), s, secrets())).length > 0);
  const child = Number(readFileSync(pidFile, "utf8"));
  assert.ok(alive(child));
  clock.now += 59_999;
  assert.equal(await p.sweep(), 0, "not idle long enough yet");
  clock.now += 1;
  assert.equal(await p.sweep(), 1);
  // SIGKILL is delivered by the kernel after kill() returns: the child ends within moments.
  await until(() => !alive(child), "the server's own child to be killed with it", 5_000);
  assert.deepEqual(p.stats(), new Map());
  // The next use opens a new connection.
  assert.ok((await p.tools(tenant("a"), s, secrets())).length > 0);
  assert.deepEqual(p.stats(), new Map([["a", 1]]));
});

test("connections are bounded per tenant: the least recently used idle one is closed for a new one; another tenant is not counted", async (t) => {
  const changing = changingFactory();
  const http = await startHttpMcp(changing.factory);
  t.after(() => http.close());
  const { p, clock } = pool(t, { maxPerTenant: 2 });
  const defs = ["one", "two", "three"].map((name) => server({ name, transport: "http", url: http.url }));
  for (const d of defs) {
    await p.tools(tenant("a"), d, secrets());
    clock.now += 1;
  }
  await p.tools(tenant("b"), defs[0]!, secrets());
  assert.deepEqual(
    p.stats(),
    new Map([
      ["a", 2],
      ["b", 1],
    ]),
  );
  // "one" was closed for "three": using it again closes "two", the least recently used now.
  await p.tools(tenant("a"), defs[0]!, secrets());
  assert.equal(http.sessions, 5);
  assert.deepEqual(
    p.stats(),
    new Map([
      ["a", 2],
      ["b", 1],
    ]),
  );
});

test("the environment allow-list refuses what changes how a program loads or connects, and agentd's own settings", () => {
  for (const name of [
    "NODE_OPTIONS",
    "PYTHONPATH",
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "DYLD_INSERT_LIBRARIES",
    "PATH",
    "HOME",
    "BASH_ENV",
    "HTTPS_PROXY",
    "AGENTD_MASTER_KEY",
    "PERL5OPT",
    "JAVA_TOOL_OPTIONS",
    "http_proxy",
    "lower",
    "A B",
  ]) {
    const r = McpServerDef.safeParse({ ...everythingStdio(), env: { [name]: { value: "x" } } });
    assert.equal(r.success, false, `${name} was accepted`);
  }
  const ok = McpServerDef.safeParse({
    ...everythingStdio(),
    env: { GITHUB_TOKEN: { secret: "GH" }, LOG_LEVEL: { value: "debug" } },
  });
  assert.equal(ok.success, true);
  const refused = McpServerDef.safeParse({
    ...everythingStdio(),
    env: { NODE_OPTIONS: { value: "--require /tmp/x.js" } },
  });
  assert.match(JSON.stringify(refused.error?.issues), /NODE_OPTIONS may not be set: variables starting with NODE_/);
});
