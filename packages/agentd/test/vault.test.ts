import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { Db } from "../src/db/index.ts";
import { statusOf } from "../src/api/errors.ts";
import { AgentdError } from "../src/errors.ts";
import { Tenants } from "../src/tenancy/tenants.ts";
import {
  generateMasterKey,
  KEY_FILE,
  keyId,
  loadMasterKeys,
  MasterKeyError,
  parseMasterKey,
} from "../src/vault/index.ts";
import {
  redactSecrets,
  redactSecretsDeep,
  rotateMasterKey,
  toMasterKeys,
  Vault,
  VaultError,
} from "../src/vault/index.ts";
import { BACKENDS, sqlite } from "./support/backends.ts";

const keysOf = (...keys: Buffer[]) => toMasterKeys(keys, "test");

const failure = (cls: abstract new (...a: never[]) => Error, re: RegExp, status?: number) => (e: unknown) =>
  e instanceof cls && re.test(e.message) && (status === undefined || statusOf(e) === status);

type TestContext = { after(fn: () => unknown): void };
const tempDir = (t: TestContext) => sqlite.place(t).dataDir;

async function keyIds(db: Db): Promise<string[]> {
  return [...new Set((await db.all<{ key_id: string }>("SELECT key_id FROM os_secrets")).map((r) => r.key_id))];
}

describe("vault master keys", () => {
  test("the key file is created 0600, read back the same, and refused when others can read it", (t) => {
    const dir = join(tempDir(t), "data");
    const first = loadMasterKeys(dir, {});
    const path = join(dir, KEY_FILE);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(loadMasterKeys(dir, {}).current.id, first.current.id);
    assert.match(first.current.id, /^[0-9a-f]{12}$/);
    chmodSync(path, 0o644);
    assert.throws(() => loadMasterKeys(dir, {}), failure(MasterKeyError, /run `chmod 600 .*master\.key`/));
  });

  test("a key file with several keys: the first encrypts, all decrypt", (t) => {
    const dir = tempDir(t);
    const [a, b] = [generateMasterKey(), generateMasterKey()];
    writeFileSync(join(dir, KEY_FILE), `# comment\n${b.toString("base64")}\n\n${a.toString("hex")}\n`, { mode: 0o600 });
    const keys = loadMasterKeys(dir, {});
    assert.deepEqual([keys.current.id, ...keys.all.keys()], [keyId(b), keyId(b), keyId(a)]);
    assert.deepEqual(Object.keys(keys.current), ["id"], "a key never shows in JSON or logs");
    assert.ok(!JSON.stringify(keys).includes(b.toString("base64")));
  });

  test("AGENTD_MASTER_KEY (base64 or hex) replaces the file; anything else is refused without echoing it", (t) => {
    const dir = tempDir(t);
    const [k, old] = [generateMasterKey(), generateMasterKey()];
    const fromB64 = loadMasterKeys(dir, {
      AGENTD_MASTER_KEY: k.toString("base64"),
      AGENTD_MASTER_KEY_PREVIOUS: ` ${old.toString("hex")} ,`,
    });
    const fromHex = loadMasterKeys(dir, { AGENTD_MASTER_KEY: k.toString("hex") });
    assert.equal(fromB64.current.id, fromHex.current.id);
    assert.equal(fromB64.all.size, 2);
    for (const bad of ["hunter2-hunter2", k.subarray(0, 16).toString("base64"), `${k.toString("hex")}00`, ""]) {
      assert.throws(
        () => loadMasterKeys(dir, { AGENTD_MASTER_KEY: bad }),
        failure(MasterKeyError, /AGENTD_MASTER_KEY .*openssl rand -base64 32/),
      );
      assert.throws(
        () => loadMasterKeys(dir, { AGENTD_MASTER_KEY: bad }),
        (e: Error) => bad === "" || !e.message.includes(bad),
      );
    }
    assert.throws(
      () => loadMasterKeys(dir, { AGENTD_MASTER_KEY_PREVIOUS: old.toString("base64") }),
      /AGENTD_MASTER_KEY is not/,
    );
    assert.throws(() => parseMasterKey("not a key", "the new key"), /the new key is not a master key/);
  });
});

describe("redaction", () => {
  const secret = "s3cr3t-T0ken/with+chars&more";
  const values = [secret, "abc"];

  test("plain, base64, URL-encoded and JSON-escaped forms become [secret]; short values are left alone", () => {
    const enc = (e: BufferEncoding) => Buffer.from(secret).toString(e);
    const text = `a ${secret} b ${enc("base64")} c ${enc("base64url")} d ${encodeURIComponent(secret)} e abc`;
    assert.equal(redactSecrets(text, values), "a [secret] b [secret] c [secret] d [secret] e abc");
    for (const prefix of ["", "x", "xy", "alice:"]) {
      const embedded = Buffer.from(`${prefix}${secret}`).toString("base64");
      const left = redactSecrets(embedded, values).split("[secret]");
      assert.equal(left.length, 2, `base64 at alignment ${prefix.length}`);
      assert.ok(left.join("").length <= Math.ceil((prefix.length * 4) / 3) + 4, `little else is left: ${left}`);
    }
    const pem = '-----BEGIN KEY-----\nAAAA"BBBB\n-----END KEY-----';
    assert.equal(redactSecrets(JSON.stringify({ key: pem }), [pem]), '{"key":"[secret]"}');
  });

  test("the deep variant redacts every string of a JSON value, keys included, and leaves other values", () => {
    const input = {
      h: { auth: `Bearer ${secret}` },
      list: [secret, 3, null, true],
      [secret]: "x",
      url: `/?t=${encodeURIComponent(secret)}`,
    };
    const want = {
      h: { auth: "Bearer [secret]" },
      list: ["[secret]", 3, null, true],
      "[secret]": "x",
      url: "/?t=[secret]",
    };
    assert.deepEqual(redactSecretsDeep(input, values), want);
    assert.equal(input.list[0], secret, "the input is not modified");
  });
});

for (const b of BACKENDS) {
  describe(`vault (${b.name})`, () => {
    async function setup(t: TestContext) {
      const { db, place } = await b.db(t);
      const tenants = new Tenants(db);
      const [a, c, d] = [await tenants.create("a"), await tenants.create("c"), await tenants.create("d")];
      return { db, place, a: tenants.scope(a.id), c: tenants.scope(c.id), d: tenants.scope(d.id) };
    }

    test("put, get, list, delete round trip; bad names and values are refused with the reason", async (t) => {
      const { db, a } = await setup(t);
      let now = 1_000;
      const vault = new Vault(db, keysOf(generateMasterKey()), () => now);
      await vault.put(a, "github.token", "ghp_ünïcode-värde");
      now = 2_000;
      await vault.put(a, "OPENAI_API_KEY", "sk-one");
      await vault.put(a, "OPENAI_API_KEY", "sk-two");
      assert.equal(await vault.get(a, "github.token"), "ghp_ünïcode-värde");
      assert.equal(await vault.reader(a).get("OPENAI_API_KEY"), "sk-two");
      assert.equal(await vault.get(a, "absent"), null);
      assert.deepEqual(await vault.list(a), [
        { name: "OPENAI_API_KEY", updatedAt: 2_000 },
        { name: "github.token", updatedAt: 1_000 },
      ]);
      assert.deepEqual((await vault.values(a)).sort(), ["ghp_ünïcode-värde", "sk-two"]);
      await vault.delete(a, "github.token");
      assert.equal(await vault.get(a, "github.token"), null);
      await assert.rejects(vault.delete(a, "github.token"), failure(AgentdError, /not found/, 404));
      for (const [name, value, why] of [
        ["", "v", /name "" is invalid/],
        ["a b", "v", /1 to 64 letters/],
        ["x".repeat(65), "v", /invalid/],
        ["ok", "x".repeat(64 * 1024 + 1), /65537 bytes, over the limit/],
        ["ok", "", /empty/],
      ] as const)
        await assert.rejects(vault.put(a, name, value), failure(AgentdError, why, 400));
      await vault.put(a, "x".repeat(64), "y".repeat(64 * 1024));
    });

    test("another tenant cannot read, list or delete a secret; a ciphertext copied to another tenant or name fails to decrypt", async (t) => {
      const { db, a, c } = await setup(t);
      const vault = new Vault(db, keysOf(generateMasterKey()));
      await vault.put(a, "token", "copied-value");
      assert.equal(await vault.get(c, "token"), null);
      assert.deepEqual(await vault.list(c), []);
      await assert.rejects(vault.delete(c, "token"), failure(AgentdError, /not found/, 404));
      const cols = "key_id, iv, tag, ciphertext, created_at, updated_at";
      const copy = (tenant: string, name: string) =>
        db.run(
          `INSERT INTO os_secrets (tenant_id, name, ${cols}) SELECT ?, ?, ${cols} FROM os_secrets WHERE tenant_id = ? AND name = 'token'`,
          [tenant, name, a.tenantId],
        );
      await copy(c.tenantId, "token");
      await copy(a.tenantId, "other");
      for (const [scope, name] of [
        [c, "token"],
        [a, "other"],
      ] as const)
        await assert.rejects(
          vault.get(scope, name),
          failure(VaultError, /integrity check.*copied from another tenant or name/, 500),
        );
      assert.deepEqual(await vault.values(c), [], "redaction skips what no one can read");
      const stranger = new Vault(db, keysOf(generateMasterKey()));
      await assert.rejects(stranger.get(a, "token"), failure(VaultError, /does not hold.*add that key/));
    });

    test("the plaintext is nowhere in the stored bytes", async (t) => {
      const { db, place, a } = await setup(t);
      const vault = new Vault(db, keysOf(generateMasterKey()));
      const planted = `PLANTED-${randomBytes(12).toString("hex")}`;
      await vault.put(a, "planted.name", planted);
      assert.equal(await vault.get(a, "planted.name"), planted);
      const file = join(place.dataDir, "os.db");
      const raw =
        b.name === "sqlite"
          ? Buffer.concat([readFileSync(file), readFileSync(`${file}-wal`)])
          : Buffer.from(JSON.stringify(await db.all("SELECT t::text AS row FROM os_secrets t")));
      assert.ok(raw.includes("planted.name"), "the row is there, so the search means something");
      assert.ok(!raw.includes(planted), "plaintext found at rest");
      assert.ok(!raw.includes(Buffer.from(planted).toString("base64").slice(0, 20)), "base64 plaintext found at rest");
    });

    test("rotation re-encrypts under the new key while reads and puts go on; a second rotation is a no-op", async (t) => {
      const { db, a, c, d } = await setup(t);
      const [keyA, keyB] = [generateMasterKey(), generateMasterKey()];
      const vault = new Vault(db, keysOf(keyA));
      const at = (n: number) => [a, c, d][n % 3]!;
      const expected: string[] = [];
      for (let n = 0; n < 250; n++) await vault.put(at(n), `s${n}`, (expected[n] = `value-${n}`));
      const progress: number[] = [];
      let rotating = true;
      const rotation = vault.rotate(keysOf(keyB, keyA), (p) => progress.push(p.done)).finally(() => (rotating = false));
      let writes = 0;
      const traffic = (async () => {
        for (let i = 0; rotating || i < 5; i++) {
          const n = (i * 7) % 250;
          assert.equal(await vault.get(at(n), `s${n}`), expected[n]);
          if (i % 4 === 0) {
            const m = (i * 13) % 250;
            await vault.put(at(m), `s${m}`, (expected[m] = `new-${i}`));
            writes++;
          }
        }
      })();
      const [result] = await Promise.all([rotation, traffic]);
      assert.ok(writes > 1);
      assert.equal(result.total, 250);
      // Puts during the rotation move some rows to key B before the rotation reaches them.
      assert.ok(result.reencrypted > 0 && result.reencrypted + result.skipped <= 250);
      assert.deepEqual(result.failed, []);
      assert.equal(result.remaining, 0);
      assert.ok(progress.length >= 3, "one progress report per batch of 100");
      assert.deepEqual(await keyIds(db), [keyId(keyB)]);
      const onlyB = new Vault(db, keysOf(keyB));
      for (let n = 0; n < 250; n++) assert.equal(await onlyB.get(at(n), `s${n}`), expected[n]);
      const again = await vault.rotate(keysOf(keyB, keyA));
      assert.deepEqual(again, { total: 0, reencrypted: 0, skipped: 0, failed: [], remaining: 0 });
    });

    test("an interrupted rotation leaves every value readable, and running it again finishes", async (t) => {
      const { db, a } = await setup(t);
      const [keyA, keyB] = [generateMasterKey(), generateMasterKey()];
      const vault = new Vault(db, keysOf(keyA));
      for (let i = 0; i < 150; i++) await vault.put(a, `s${i}`, `v${i}`);
      await assert.rejects(
        vault.rotate(keysOf(keyB, keyA), () => assert.fail("interrupted")),
        /interrupted/,
      );
      assert.equal((await keyIds(db)).length, 2, "the first batch committed, the rest did not");
      const both = new Vault(db, keysOf(keyB, keyA));
      for (let i = 0; i < 150; i++) assert.equal(await both.get(a, `s${i}`), `v${i}`);
      const rest = await both.rotate(keysOf(keyB, keyA));
      assert.equal(rest.reencrypted, 50);
      assert.deepEqual(await keyIds(db), [keyId(keyB)]);
    });

    test("rotateMasterKey rewrites the key file under a running vault; afterwards only the new key is needed", async (t) => {
      const {
        db,
        place: { dataDir: dir },
        a,
      } = await setup(t);
      const running = new Vault(db, loadMasterKeys(dir, {}));
      const oldId = running.keys.current.id;
      for (let i = 0; i < 120; i++) await running.put(a, `s${i}`, `v${i}`);
      let done = false;
      const rotation = rotateMasterKey(dir, db, { env: {}, graceMs: 20 }).finally(() => (done = true));
      let i = 0;
      while (!done) {
        await running.put(a, `live${i}`, `l${i}`);
        assert.equal(await running.get(a, `s${i % 120}`), `v${i % 120}`);
        i++;
        await new Promise((r) => setImmediate(r)); // SQLite calls finish in microtasks: let the rotation's timer fire
      }
      const report = await rotation;
      assert.match(`${report.outcome}: ${report.message}`, /^rotated: [\s\S]*now holds only the new key/);
      assert.notEqual(report.keyId, oldId);
      const fileKeys = loadMasterKeys(dir, {});
      assert.deepEqual([...fileKeys.all.keys()], [report.keyId]);
      assert.equal(statSync(join(dir, KEY_FILE)).mode & 0o777, 0o600);
      const fresh = new Vault(db, fileKeys);
      for (let n = 0; n < 120; n++) assert.equal(await fresh.get(a, `s${n}`), `v${n}`);
      for (let n = 0; n < i; n++) assert.equal(await fresh.get(a, `live${n}`), `l${n}`);
      await running.put(a, "after", "x");
      assert.deepEqual(
        await keyIds(db),
        [report.keyId],
        "all rows, and the running vault's put, are under the new key",
      );
      assert.equal(await fresh.get(a, "after"), "x");
    });

    test("with AGENTD_MASTER_KEY, rotateMasterKey explains the steps, or moves secrets to the current key", async (t) => {
      const {
        db,
        place: { dataDir: dir },
        a,
      } = await setup(t);
      const [oldKey, newKey] = [generateMasterKey(), generateMasterKey()];
      const env = { AGENTD_MASTER_KEY: oldKey.toString("base64") };
      await new Vault(db, loadMasterKeys(dir, env)).put(a, "token", "v");
      const told = await rotateMasterKey(dir, db, { env });
      assert.match(
        `${told.outcome}: ${told.message}`,
        /^instructions: .*no file to rewrite[\s\S]*AGENTD_MASTER_KEY_PREVIOUS/,
      );
      const swapped = {
        AGENTD_MASTER_KEY: newKey.toString("hex"),
        AGENTD_MASTER_KEY_PREVIOUS: oldKey.toString("base64"),
      };
      const moved = await rotateMasterKey(dir, db, { env: swapped });
      assert.equal(moved.reencrypted, 1);
      assert.match(`${moved.outcome}: ${moved.message}`, /^rotated: [\s\S]*remove AGENTD_MASTER_KEY_PREVIOUS/);
      const onlyNew = loadMasterKeys(dir, { AGENTD_MASTER_KEY: newKey.toString("base64") });
      assert.equal(await new Vault(db, onlyNew).get(a, "token"), "v");
    });
  });
}
