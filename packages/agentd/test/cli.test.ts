// The `agentd` commands as real processes: chat (embedded and against a running agentd, with
// approvals), doctor against the local stand-in model, the admin commands, and the split roles.
import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { test } from "node:test";
import pg from "pg";
import { pgUrl } from "./support/backends.ts";
import { type ModelServer, startModelServer } from "./support/model-server.ts";
import { agentd, cleanEnv, freePort, MAIN, tempDir } from "./support/cli.ts";

async function modelServer(
  t: { after(fn: () => unknown): void },
  opts: Parameters<typeof startModelServer>[0] = {},
): Promise<ModelServer> {
  const server = await startModelServer(opts);
  t.after(() => server.close());
  return server;
}

/** Starts a long-running role (start, serve, worker) and waits for its ready line. */
async function daemon(
  t: { after(fn: () => unknown): void },
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcessWithoutNullStreams; line: string; stderr(): string; stop(): Promise<number | null> }> {
  const child = spawn(process.execPath, [MAIN, ...args], { env });
  t.after(() => child.kill("SIGKILL"));
  let out = "";
  let err = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`agentd ${args.join(" ")} not ready in 15 s; stdout: ${out}; stderr: ${err}`)),
      15_000,
    );
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      const ready = out.split("\n").find((l) => /^agentd (worker |API )?ready/.test(l));
      if (ready) {
        clearTimeout(timer);
        resolve(ready);
      }
    });
    child.once("exit", (code) =>
      reject(new Error(`agentd ${args.join(" ")} exited (${code}); stdout: ${out}; stderr: ${err}`)),
    );
  });
  const stop = async () => {
    child.kill("SIGTERM");
    const [code] = (await once(child, "exit")) as [number | null];
    return code;
  };
  return { child, line, stderr: () => err, stop };
}

const FOX = "The quick brown fox jumps over the lazy dog, twice over.";

test("agentd chat with nothing listening runs agentd in-process and streams the reply token by token", async (t) => {
  const model = await modelServer(t);
  const dir = tempDir(t);
  const port = await freePort();
  const env = cleanEnv({ AGENTD_MODEL_BASE_URL: model.url, AGENTD_MODEL: "mock-model", AGENTD_PORT: String(port) });
  model.script({ text: FOX, tokenDelayMs: 25 });
  const r = await agentd(["chat", "--data", dir], env, "Hi\n");
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${FOX}\n`);
  assert.match(
    r.stderr,
    new RegExp(
      `^\\(no agentd answers at http://127\\.0\\.0\\.1:${port}: running one in this process, on sqlite ${join(dir, "agentd.db")}; its log goes to ${join(dir, "chat.log")}\\)\n$`,
    ),
  );
  // Streamed: the reply reached stdout in pieces, the first long before the whole.
  const first = r.pieces[0] as string;
  assert.ok(r.pieces.length >= 5 && first.length < FOX.length / 2, `pieces: ${JSON.stringify(r.pieces)}`);
  const asked = model.requests.find((q) => q.path === "/v1/chat/completions");
  assert.equal(asked?.body.messages.at(-1).content, "Hi");

  // A piped conversation: each line a message, in order, in the same session ("cli"); exits at EOF.
  const two = await agentd(["chat", "--data", dir], env, "one\n\n  two  \n");
  assert.equal(two.code, 0, two.stderr);
  assert.equal(two.stdout, "ok: one\nok: two\n");
  const last = model.requests.filter((q) => q.path === "/v1/chat/completions").at(-1);
  const history = (last!.body.messages as { role: string; content: unknown }[])
    .filter((m) => m.role === "user")
    .map((m) => m.content);
  assert.deepEqual(history, ["Hi", "one", "two"], "one conversation across both chats");

  // The turns are runs of the operator's "local" tenant, made once; `agentd runs` finds them.
  const tenants = await agentd(["tenants", "list", "--data", dir], env);
  const local = tenants.stdout.split("\n").filter((l) => /\slocal\s/.test(l));
  assert.equal(local.length, 1, tenants.stdout);
  const tenantId = (local[0] as string).split(/\s+/)[0] as string;
  const runs = await agentd(["runs", "--tenant", tenantId, "--data", dir], env);
  const rows = runs.stdout.trim().split("\n").slice(1);
  assert.equal(rows.length, 3, runs.stdout);
  for (const row of rows) assert.match(row, new RegExp(`^\\S+\\s+agent\\.turn\\s+completed\\s+${tenantId}\\s`));
  const runId = (rows.at(-1) as string).split(/\s+/)[0] as string;
  const show = await agentd(["runs", "show", runId, "--data", dir], env);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, new RegExp(`^run ${runId}: agent\\.turn, completed, tenant ${tenantId}\n`));
  assert.match(show.stdout, /#2\s+step\s+model:0\s+completed/);
  assert.ok(show.stdout.includes(FOX.slice(0, 40)), "the model step's value is shown");
});

test("with no model, chat tells the person in a sentence and the turn waits in `runs --status failed`; AGENTD_MODEL=echo tries agentd without a key, and `runs retry` answers the kept message", async (t) => {
  const dir = tempDir(t);
  const env = cleanEnv({ AGENTD_PORT: String(await freePort()) });
  const none = await agentd(["chat", "--data", dir], env, "hello?\n");
  assert.equal(none.code, 1, "the turn failed");
  assert.equal(
    none.stdout,
    "Sorry, I can't answer yet: this assistant has no AI model set up. Your message is kept, and I'll answer it once one is.\n",
  );
  assert.match(
    none.stderr,
    /no model is configured: set OPENAI_API_KEY.*AGENTD_MODEL=echo/,
    "the operator reads why and how",
  );
  assert.doesNotMatch(none.stderr, /has no model is/);

  const failed = await agentd(["runs", "--status", "failed", "--data", dir], env);
  const row = failed.stdout.split("\n").find((l) => /\bagent\.turn\s+failed\b/.test(l));
  assert.ok(row, failed.stdout);
  const runId = row.split(/\s+/)[0] as string;

  // Tried with the built-in echo model: no key, no server; the kept message is answered on retry.
  const echo = { ...env, AGENTD_MODEL: "echo" };
  assert.equal((await agentd(["runs", "retry", runId, "--data", dir], echo)).code, 0);
  const next = await agentd(["chat", "--data", dir], echo, "and now?\n");
  assert.equal(next.code, 0, next.stderr);
  assert.equal(next.stdout, "echo: and now?\n");
  const shown = await agentd(["runs", "show", runId, "--data", dir], echo);
  assert.match(shown.stdout, new RegExp(`^run ${runId}: agent\\.turn, completed`, "m"));
  assert.match(shown.stdout, /output: .*echo: hello\?/);
});

test("agentd chat asks y/a/n when a tool call needs approval, and posts the answer", async (t) => {
  const model = await modelServer(t);
  const dir = tempDir(t);
  const env = cleanEnv({
    AGENTD_MODEL_BASE_URL: model.url,
    AGENTD_MODEL: "mock-model",
    AGENTD_PORT: String(await freePort()),
    AGENTD_ALLOW_PRIVATE_NET: "1",
  });
  const target = `${model.url}/models`;
  const call = { name: "http_request", arguments: { method: "GET", url: target } };
  model.script(
    { text: "Checking.", toolCalls: [call] },
    { text: "It answered." },
    { toolCalls: [call] },
    { text: "Not allowed, then." },
  );
  const r = await agentd(["chat", "--data", dir], env, "check the server\ny\nagain please\nn\n");
  assert.equal(r.code, 0, r.stderr);
  const origin = new URL(target).origin;
  const ask = `[approval] http_request wants: GET ${target} with no secret\nallow? y = this once, a = always (every http_request to ${origin} with no secret), n = deny\n`;
  assert.equal(
    r.stdout,
    `Checking.\n${ask}[http_request] GET ${target} with no secret\nIt answered.\n${ask}Not allowed, then.\n`,
  );
  const fetched = model.requests.filter((q) => q.path === "/v1/models");
  assert.equal(fetched.length, 1, "the approved call ran, the denied one did not");
  const toolResult = model.requests
    .filter((q) => q.path === "/v1/chat/completions")
    .at(-1)
    ?.body.messages.at(-1);
  assert.equal(toolResult.role, "tool");
  assert.match(String(toolResult.content), /denied/);
});

test("agentd chat talks to a running agentd (the same tenant and conversation), and refuses an unknown tenant", async (t) => {
  const model = await modelServer(t);
  const dir = tempDir(t);
  const port = await freePort();
  const env = cleanEnv({ AGENTD_MODEL_BASE_URL: model.url, AGENTD_MODEL: "mock-model", AGENTD_PORT: String(port) });
  const server = await daemon(t, ["start", "--data", dir], env);
  assert.equal(
    server.line,
    `agentd ready at http://127.0.0.1:${port} (sqlite ${join(dir, "agentd.db")}, model mock-model at ${model.url})`,
  );

  const a = await agentd(["chat", "--data", dir, "--conversation", "ops"], env, "first\n");
  assert.equal(a.code, 0, a.stderr);
  assert.equal(a.stdout, "ok: first\n");
  assert.equal(a.stderr, "", "no in-process agentd: one answered");
  // The admin token from the environment works as well as the file; --url as well as AGENTD_PORT.
  const token = (await import("node:fs")).readFileSync(join(dir, "admin.token"), "utf8").trim();
  const b = await agentd(
    ["chat", "--url", `http://127.0.0.1:${port}`, "--conversation", "ops"],
    cleanEnv({ AGENTD_ADMIN_TOKEN: token }),
    "second\n",
  );
  assert.equal(b.stdout, "ok: second\n", b.stderr);
  // `agentd start` logs each request at info, by default: the chat's message among them, with its tenant.
  const logged = server
    .stderr()
    .split("\n")
    .filter((l) => l.includes('"msg":"request"'))
    .map((l) => JSON.parse(l));
  const posted = logged.find((l) => l.method === "POST" && l.path === "/v1/messages");
  assert.deepEqual([posted?.level, posted?.status, typeof posted?.ms], ["info", 200, "number"]);
  assert.match(posted?.tenant, /^ten_/);
  assert.ok(!server.stderr().includes(token), "the admin token is not logged");
  const users = (model.requests.at(-1)!.body.messages as { role: string; content: unknown }[])
    .filter((m) => m.role === "user")
    .map((m) => m.content);
  assert.deepEqual(users, ["first", "second"]);

  const unknown = await agentd(["chat", "--data", dir, "--tenant", "ten_nobody"], env, "hello\n");
  assert.equal(unknown.code, 3, "what was named does not exist: exit code 3");
  assert.equal(unknown.stdout, "");
  assert.equal(
    unknown.stderr,
    `agentd: GET http://127.0.0.1:${port}/v1/tenants/ten_nobody answered HTTP 404: tenant ten_nobody not found\n`,
  );

  const bad = await agentd(
    ["chat", "--url", `http://127.0.0.1:${port}`],
    cleanEnv({ AGENTD_ADMIN_TOKEN: "not-the-token" }),
    "hello\n",
  );
  assert.equal(bad.code, 1);
  assert.match(
    bad.stderr,
    /^agentd: GET http:\/\/127\.0\.0\.1:\d+\/v1\/tenants\?.* answered HTTP 401: this token is neither the admin token nor a current API key/,
  );

  assert.equal(await server.stop(), 0);
});

test("agentd doctor passes with a working model endpoint, and names the fix when the key is refused or nothing listens", async (t) => {
  const dir = tempDir(t);
  const model = await modelServer(t, { apiKey: "sk-right" });
  const base = { AGENTD_MODEL_BASE_URL: model.url, AGENTD_MODEL: "mock-model" };

  const ok = await agentd(["doctor", "--data", dir], cleanEnv({ ...base, AGENTD_MODEL_API_KEY: "sk-right" }));
  assert.equal(ok.code, 0, ok.stdout);
  const lines = ok.stdout.trim().split("\n");
  assert.deepEqual(
    lines.map((l) => l.split(/\s{2,}/)[1]),
    [
      "settings",
      "store",
      "master key",
      "model",
      "channels",
      "web search",
      "voice notes",
      "speech",
      "composio",
      "browser",
      "sandbox",
      "admin token",
      undefined,
    ],
  );
  for (const l of lines.slice(0, -1)) assert.match(l, /^ok {4}/);
  assert.match(
    ok.stdout,
    new RegExp(
      `^ok {4}model {8}mock-model at ${model.url.replace(/\./g, "\\.")}: the endpoint answers and accepts the key, and lists the model$`,
      "m",
    ),
  );
  assert.equal(lines.at(-1), "all checks passed");
  // No transcription model here (the chat model is a local server's): doctor says how to set one up.
  assert.match(
    ok.stdout,
    /^ok\s+voice notes\s+voice notes are not transcribed: set OPENAI_API_KEY .*AGENTD_TRANSCRIPTION_BASE_URL/m,
  );

  const refused = await agentd(["doctor", "--data", dir], cleanEnv({ ...base, AGENTD_MODEL_API_KEY: "sk-wrong" }));
  assert.equal(refused.code, 1);
  assert.match(
    refused.stdout,
    /^FAIL {2}model {8}the model endpoint http:\/\/127\.0\.0\.1:\d+\/v1 refuses the API key \(HTTP 401\): check OPENAI_API_KEY \/ AGENTD_MODEL_API_KEY$/m,
  );
  assert.ok(!refused.stdout.includes("sk-wrong"), "the key is never printed");
  assert.match(refused.stdout, /^1 check\(s\) failed$/m);

  const closed = `http://127.0.0.1:${await freePort()}/v1`;
  const down = await agentd(["doctor", "--data", dir], cleanEnv({ ...base, AGENTD_MODEL_BASE_URL: closed }));
  assert.equal(down.code, 1);
  assert.ok(
    down.stdout.includes(
      `FAIL  model        cannot reach the model endpoint ${closed}/models: connection refused (nothing listens there); start that server or fix AGENTD_MODEL_BASE_URL\n`,
    ),
    down.stdout,
  );

  const none = await agentd(["doctor", "--data", dir], cleanEnv());
  assert.equal(none.code, 1);
  assert.match(none.stdout, /^FAIL {2}model {8}no model is configured: set OPENAI_API_KEY/m);
  const echo = await agentd(["doctor", "--data", dir], cleanEnv({ AGENTD_MODEL: "echo" }));
  assert.match(echo.stdout, /^ok {4}model {8}echo, the built-in model: it answers each message with its own text/m);

  // The doctor only looks: a fresh data folder is still empty after it.
  assert.deepEqual((await import("node:fs")).readdirSync(dir), []);
});

test("agentd tenants create, list, key and pair; migrate reports the schema versions", async (t) => {
  const dir = tempDir(t);
  const env = cleanEnv();
  const migrated = await agentd(["migrate", "--data", dir], env);
  assert.equal(migrated.code, 0, migrated.stderr);
  assert.match(
    migrated.stdout,
    /^migrating sqlite .*\n {2}kernel store {2}schema v0 -> v\d+ \(\d+ migration\(s\) applied\)\n {2}OS data {7}schema v0 -> v\d+/,
  );
  const again = await agentd(["migrate", "--data", dir], env);
  assert.match(
    again.stdout,
    /kernel store {2}schema v\d+, already current\n {2}OS data {7}schema v\d+, already current/,
  );

  const empty = await agentd(["tenants", "--data", dir], env);
  assert.equal(empty.stdout, "no tenants yet: make one with `agentd tenants create <name>`\n");
  const made = await agentd(["tenants", "create", "Acme Corp", "--data", dir], env);
  assert.equal(made.code, 0, made.stderr);
  const id = /^created tenant (ten_\w+) \(Acme Corp\)/.exec(made.stdout)?.[1];
  assert.ok(id, made.stdout);
  const list = await agentd(["tenants", "list", "--data", dir], env);
  assert.match(
    list.stdout,
    new RegExp(
      `^ID\\s+NAME\\s+CREATED\n${id}  Acme Corp  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d [+-]\\d\\d:\\d\\d\n$`,
    ),
  );
  const key = await agentd(["tenants", "key", id, "--data", dir], env);
  assert.match(key.stdout, /\nak_[\w-]+\n$/);
  const pair = await agentd(["tenants", "pair", id, "--data", dir], env);
  assert.match(pair.stdout, /^pairing code for tenant ten_\w+: [A-Z0-9]{8} \(one use, until /);

  const missing = await agentd(["tenants", "key", "ten_nobody", "--data", dir], env);
  assert.equal(missing.code, 3, "not found: exit code 3");
  assert.equal(missing.stderr, "agentd: tenant ten_nobody not found\n");
  const usage = await agentd(["tenants", "create", "--data", dir], env);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /^agentd tenants create needs a name; see its --help\n\nUsage: agentd tenants/);
  const schedules = await agentd(["schedules", "--data", dir], env);
  assert.equal(schedules.stdout, "no schedules\n");
  const noRun = await agentd(["runs", "show", "01234567-0000-7000-8000-000000000000", "--data", dir], env);
  assert.equal(noRun.stderr, "agentd: no run 01234567-0000-7000-8000-000000000000: `agentd runs` lists the runs\n");
  assert.equal(noRun.code, 3);
});

const PG = pgUrl ?? undefined;

test("on Postgres, `agentd serve` takes the message and `agentd worker` answers it", {
  skip: PG ? false : "no Postgres reachable (set DATABASE_URL)",
}, async (t) => {
  const schema = `cli_${process.pid}_${Date.now() % 100_000}`;
  t.after(async () => {
    const c = new pg.Client({ connectionString: PG });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.end();
  });
  const model = await modelServer(t);
  const dir = tempDir(t);
  const port = await freePort();
  const env = cleanEnv({
    DATABASE_URL: PG as string,
    AGENTD_PG_SCHEMA: schema,
    AGENTD_MODEL_BASE_URL: model.url,
    AGENTD_MODEL: "mock-model",
    AGENTD_PORT: String(port),
  });
  const migrated = await agentd(["migrate", "--data", dir], env);
  assert.match(migrated.stdout, new RegExp(`^migrating postgres .* \\(schema ${schema}\\)\n`), migrated.stderr);

  const api = await daemon(t, ["serve", "--data", dir], env);
  assert.match(
    api.line,
    new RegExp(
      `^agentd API ready at http://127\\.0\\.0\\.1:${port} \\(postgres .*\\(schema ${schema}\\); runs are executed by`,
    ),
  );
  const worker = await daemon(t, ["worker", "--data", dir], env);
  assert.match(worker.line, /^agentd worker ready \(postgres .*, model mock-model at /);

  const r = await agentd(["chat", "--data", dir], env, "across processes\n");
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "ok: across processes\n");
  assert.equal(r.stderr, "");
  assert.equal(await api.stop(), 0);
  assert.equal(await worker.stop(), 0);
});
