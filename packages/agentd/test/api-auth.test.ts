import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { describe, test } from "node:test";
import { FakeClock } from "@agentd/kernel";
import { AuthThrottle } from "../src/api/auth-throttle.ts";
import { clientAddress, parseTrustedProxies } from "../src/api/client-address.ts";
import { ConfigError, loadConfig } from "../src/config.ts";
import { ADMIN, served } from "./support/api.ts";
import { BACKENDS } from "./support/backends.ts";
import { cleanEnv, MAIN, tempDir } from "./support/cli.ts";

for (const b of BACKENDS) {
  describe(`API authentication: throttling and client disconnects (${b.name})`, () => {
    test("repeated wrong tokens from one address get 429 with Retry-After, even with the right token then; the block ends", async (t) => {
      const clock = new FakeClock(Date.UTC(2026, 11, 6, 12, 0));
      const s = await served(t, b, { clock });
      for (let i = 0; i < 9; i++)
        assert.equal((await s.call("GET", "/v1/sessions", { token: `ak_guess-${i}` })).status, 401);
      assert.equal(
        (await s.call("GET", "/v1/sessions", { token: null })).status,
        401,
        "no token at all is not a guess",
      );
      assert.equal((await s.call("GET", "/v1/sessions")).status, 200, "nine failures: still let in");
      assert.equal((await s.call("GET", "/health", { token: "adm_guess" })).status, 401, "/health's token counts too");
      const refused = await s.call("GET", "/v1/sessions");
      assert.equal(refused.status, 429, "the tenth failure blocks the address, whatever it sends next");
      assert.equal(refused.body.error.code, "too_many_failures");
      assert.equal(refused.headers.get("retry-after"), "60");
      assert.match(refused.body.error.message, /had a wrong token; try again in 60 s/);
      assert.equal((await s.call("GET", "/metrics", { token: ADMIN })).status, 429);
      await clock.advance(30_000);
      assert.equal((await s.call("GET", "/v1/sessions")).headers.get("retry-after"), "30");
      await clock.advance(30_001);
      assert.equal((await s.call("GET", "/v1/sessions")).status, 200, "the block is over");
      // Hammered: thousands of wrong tokens are refused cheaply, never let in.
      const started = performance.now();
      const statuses = new Map<number, number>();
      // In waves of 200 at once (more would overflow the socket's listen backlog, not test agentd).
      for (let wave = 0; wave < 10; wave++)
        await Promise.all(
          Array.from({ length: 200 }, async (_, i) => {
            const st = (await s.call("GET", "/v1/sessions", { token: `ak_flood-${wave}-${i}` })).status;
            statuses.set(st, (statuses.get(st) ?? 0) + 1);
          }),
        );
      // At most the failures left in the window plus the checks allowed in flight at once get an answer.
      assert.ok((statuses.get(401) ?? 0) <= 10 + 32, `mostly 429: ${JSON.stringify([...statuses])}`);
      assert.equal(statuses.get(200), undefined);
      assert.ok(performance.now() - started < 60_000);
    });

    test("behind a trusted proxy each client is counted by X-Forwarded-For; from anyone else the header changes nothing", async (t) => {
      const direct = await served(t, b);
      for (let i = 0; i < 10; i++)
        await direct.call("GET", "/v1/sessions", {
          token: `ak_x-${i}`,
          headers: { "x-forwarded-for": `198.51.100.${i}` },
        });
      assert.equal(
        (await direct.call("GET", "/v1/sessions", { headers: { "x-forwarded-for": "198.51.100.99" } })).status,
        429,
        "a forged header does not escape the block",
      );

      const proxied = await served(t, b, { config: { trustedProxies: parseTrustedProxies("127.0.0.1, 10.0.0.0/8") } });
      const from = (client: string) => ({ "x-forwarded-for": `${client}, 10.1.2.3` });
      for (let i = 0; i < 10; i++)
        assert.equal(
          (await proxied.call("GET", "/v1/sessions", { token: `ak_y-${i}`, headers: from("203.0.113.7") })).status,
          401,
        );
      assert.equal(
        (await proxied.call("GET", "/v1/sessions", { headers: from("203.0.113.7") })).status,
        429,
        "the guessing client is blocked",
      );
      assert.equal(
        (await proxied.call("GET", "/v1/sessions", { headers: from("203.0.113.8") })).status,
        200,
        "another client behind the same proxy is not",
      );
    });

    test("a client that leaves mid-request is not logged as an error with a stack trace", async (t) => {
      const written: string[] = [];
      const s = await served(t, b, { logger: (r) => void written.push(JSON.stringify(r)) });
      const write = process.stderr.write.bind(process.stderr);
      process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
        written.push(String(chunk));
        return write(chunk, ...rest);
      }) as typeof process.stderr.write;
      t.after(() => void (process.stderr.write = write));
      const { port } = new URL(s.url);
      for (const path of ["/v1/tenants", "/v1/messages"]) {
        const sock = connect(Number(port), "127.0.0.1");
        await new Promise((r) => sock.once("connect", r));
        sock.write(
          `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${path === "/v1/tenants" ? ADMIN : s.key}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"name":"ab`,
        );
        await new Promise((r) => setTimeout(r, 100));
        sock.destroy();
      }
      await new Promise((r) => setTimeout(r, 300));
      // The server still answers, and wrote no error.
      assert.equal((await s.call("GET", "/v1/sessions")).status, 200);
      const errors = written.filter((w) => /api request failed|"stack"/.test(w));
      assert.deepEqual(errors, []);
    });
  });
}

describe("AuthThrottle", () => {
  test("memory stays bounded under a flood from many addresses; IPv6 counts by /64; blocks double", () => {
    const th = new AuthThrottle({ maxFailures: 3, windowMs: 1000, blockMs: 1000, maxSources: 100 });
    for (let i = 0; i < 50_000; i++) th.fail(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 0);
    assert.equal(th.size, 100);
    const a = "2001:db8:1:2:aaaa::1";
    const b = "2001:db8:1:2:bbbb::2";
    th.fail(a, 0);
    th.fail(b, 0);
    assert.equal(th.fail(a, 0), 1000, "one /64: the third failure blocks");
    assert.equal(th.retryAfter("2001:db8:1:2::99", 10), 990);
    assert.equal(th.retryAfter("2001:db8:1:3::1", 10), 0, "another /64 is another source");
    assert.equal(th.retryAfter("::ffff:10.0.195.79", 0), 0);
    for (let i = 0; i < 3; i++) th.fail(a, 2000);
    assert.equal(th.retryAfter(a, 2000), 2000, "a second block lasts twice as long");
    const c = "192.0.2.7";
    const open = Array.from({ length: 32 }, () => th.begin(c, 5000));
    assert.ok(open.every((o) => o.wait === 0));
    const busy = th.begin(c, 5000);
    assert.equal(busy.busy, true, "a 33rd check at once waits");
    open[0]!.end(false, 5000);
    assert.equal(th.begin(c, 5000).wait, 0);
  });
});

describe("the client's address", () => {
  test("is read from X-Forwarded-For only when the peer is a trusted proxy, skipping trusted hops; a wrong AGENTD_TRUSTED_PROXIES is refused by name", (t) => {
    const trusted = parseTrustedProxies("127.0.0.1, 10.0.0.0/8, ::1");
    assert.equal(clientAddress("127.0.0.1", "1.2.3.4, 10.0.0.2", trusted), "1.2.3.4");
    assert.equal(
      clientAddress("::ffff:127.0.0.1", "9.9.9.9, 1.2.3.4", trusted),
      "1.2.3.4",
      "the nearest untrusted hop, not a forged first one",
    );
    assert.equal(clientAddress("192.0.2.1", "1.2.3.4", trusted), "192.0.2.1", "an untrusted peer's header is ignored");
    assert.equal(clientAddress("127.0.0.1", "not-an-ip", trusted), "127.0.0.1");
    assert.equal(clientAddress("127.0.0.1", undefined, trusted), "127.0.0.1");
    assert.throws(
      () => loadConfig({ AGENTD_DATA: tempDir(t), AGENTD_TRUSTED_PROXIES: "10.0.0.0/8, proxy.local" }),
      /^ConfigError: AGENTD_TRUSTED_PROXIES is "10\.0\.0\.0\/8, proxy\.local" not valid: "proxy\.local" is not an IP address or CIDR range/,
    );
  });
});

describe("a weak admin token", () => {
  test("is refused with a sentence naming the variable, by loadConfig and by agentd start", async (t) => {
    const dataDir = tempDir(t);
    for (const [token, why] of [
      ["secret", /6 characters long/],
      ["changeme12345678", /common word/],
      ["abababababababababab", /only 2 distinct/],
    ] as const) {
      assert.throws(
        () => loadConfig({ AGENTD_ADMIN_TOKEN: token, AGENTD_DATA: dataDir }),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError);
          assert.match(e.message, /^AGENTD_ADMIN_TOKEN is too weak to guard the admin API/);
          assert.match(e.message, why);
          assert.ok(!e.message.includes(token), "the token itself is not repeated");
          return true;
        },
      );
    }
    assert.equal(
      loadConfig({ AGENTD_ADMIN_TOKEN: "adm_Zq8-f3LmP0x9wRt", AGENTD_DATA: dataDir }).adminToken,
      "adm_Zq8-f3LmP0x9wRt",
    );
    const child = spawn(process.execPath, [MAIN, "start", "--data", dataDir], {
      env: cleanEnv({ AGENTD_ADMIN_TOKEN: "hunter2", AGENTD_PORT: "0" }),
    });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    const code = await new Promise((r) => child.on("exit", r));
    assert.equal(code, 1);
    assert.match(err, /^agentd: AGENTD_ADMIN_TOKEN is too weak to guard the admin API \(it is 7 characters long\)/);
    assert.ok(!err.includes("    at "), "no stack trace");
  });
});
