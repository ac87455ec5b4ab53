/**
 * The ssh tools end to end from a chat message: over the HTTP API (hosts and keys added there, a
 * planted private key traced everywhere it must not be) and over Telegram (the agent adds the host,
 * the person pins its key and approves a command with one-tap buttons).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { served } from "../support/api.ts";
import { BACKENDS } from "../support/backends.ts";
import { SSHD, startSshd } from "../support/sshd.ts";
import { pairingTelegramRig, sentTo } from "../support/telegram-rig.ts";
import { pressUpdate, textUpdate } from "../support/telegram-updates.ts";
import { until } from "../support/wait.ts";
import { everything } from "./stored.ts";

const skip = existsSync(SSHD) ? false : "no sshd (apt-get install openssh-server); ssh tests skip";
const ALICE = { id: 601, is_bot: false, first_name: "Alice", username: "alice" };

for (const b of BACKENDS) {
  describe(`ssh from a chat message (${b.name})`, { skip }, () => {
    test("HTTP: hosts and a planted key through the API, policy patterns on commands, SFTP approved; the key in no row, log, journal or model request", {
      timeout: 180_000,
    }, async (t) => {
      const sshd = await startSshd(t);
      const logs: unknown[] = [];
      const api = await served(t, b, {
        config: { net: { allowPrivate: false, allowHosts: [`127.0.0.1:${sshd.port}`] } },
        logger: (l: unknown) => void logs.push(l),
      });
      const { app, model, call, tenantId } = api;
      const keyFile = join(sshd.dir, "planted");
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", keyFile]);
      const planted = readFileSync(keyFile, "utf8");
      // A run of the key's body that appears in no other text: what a leak would show.
      const body = planted.split("\n").slice(1, -2).join("");
      const marks = [body.slice(20, 60), body.slice(-60, -20)];
      const k = await call("POST", "/v1/ssh/keys", { body: { name: "planted", privateKey: planted } });
      assert.equal(k.status, 201, k.text);
      assert.equal(k.body.publicKey.split(" ")[1], readFileSync(`${keyFile}.pub`, "utf8").split(" ")[1]);
      sshd.authorize(readFileSync(`${keyFile}.pub`, "utf8"));

      const bad = await call("POST", "/v1/ssh/hosts", { body: { name: "Box!", address: "127.0.0.1", user: "x" } });
      assert.equal(bad.status, 400);
      const add = await call("POST", "/v1/ssh/hosts", {
        body: { name: "box", address: "127.0.0.1", port: sshd.port, user: sshd.user, key: "planted" },
      });
      assert.equal(add.status, 201, add.text);
      assert.deepEqual([add.body.presented.fingerprint, add.body.confirmed], [sshd.fingerprint, false]);
      const wrong = await call("POST", "/v1/ssh/hosts/box/confirm", {
        body: { fingerprint: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" },
      });
      assert.equal(wrong.status, 409);
      assert.ok(wrong.body.error.message.includes(sshd.fingerprint), "the answer names what the host presented");
      assert.equal(
        (await call("POST", "/v1/ssh/hosts/box/confirm", { body: { fingerprint: sshd.fingerprint } })).status,
        200,
      );
      for (const [pattern, decision] of [
        ["echo *", "allow"],
        ["rm -rf *", "deny"],
      ])
        assert.equal((await call("PUT", "/v1/policies", { body: { tool: "ssh", pattern, decision } })).status, 200);
      writeFileSync(join(sshd.dir, "report.txt"), "quarterly numbers\n");

      model.script(
        { toolCalls: [{ name: "ssh", arguments: { host: "box", command: "echo hello; echo warn >&2; exit 2" } }] },
        { toolCalls: [{ name: "ssh", arguments: { host: "box", command: "echo chained; cat /etc/hostname" } }] },
        { toolCalls: [{ name: "ssh", arguments: { host: "box", command: "rm -rf /tmp/anything" } }] },
        { toolCalls: [{ name: "ssh", arguments: { host: "box", command: "echo plain" } }] },
        {
          toolCalls: [
            { name: "ssh_file", arguments: { host: "box", direction: "download", path: join(sshd.dir, "report.txt") } },
          ],
        },
        { text: "Done." },
      );
      const sent = await call("POST", "/v1/messages", { body: { conversation: "ops", text: "check the box" } });
      assert.equal(sent.status, 202, sent.text);
      const runId = sent.body.runId as string;
      // Chained commands are not covered by "echo *": asked (the first approved, the second denied); the download asked, and approved.
      const decide = async (subject: RegExp, decision: string) => {
        const pending = await until(
          async () => {
            const list = (await call("GET", "/v1/approvals?status=pending")).body.approvals as {
              id: string;
              subject: string;
            }[];
            return list.find((a) => subject.test(a.subject));
          },
          `an approval for ${subject}`,
          60_000,
        );
        assert.equal((await call("POST", `/v1/approvals/${pending.id}`, { body: { decision } })).status, 200);
        return pending.subject;
      };
      assert.equal(await decide(/^echo hello/, "once"), "echo hello; echo warn >&2; exit 2 (on box)");
      assert.equal(await decide(/^echo chained/, "deny"), "echo chained; cat /etc/hostname (on box)");
      assert.equal(await decide(/^download/, "once"), `download ${join(sshd.dir, "report.txt")} (on box)`);
      const result = await app.kernel.result<{ text: string }>(runId);
      assert.equal(result.text, "Done.");

      const toolText = (i: number) => String(model.requests[i]!.body.messages.at(-1)?.content ?? "");
      const first = toolText(1);
      assert.match(first, /"exitCode":2/);
      assert.match(first, /"stdout":"hello\\n"/);
      assert.match(first, /"stderr":"warn\\n"/);
      assert.match(toolText(2), /the user denied this call/);
      assert.match(toolText(3), /denied by policy \(deny ssh rm -rf \*\)/);
      assert.match(toolText(4), /"stdout":"plain\\n"/);
      const blobId = /"id":"(blob_[^"]+)"/.exec(toolText(5))?.[1];
      assert.ok(blobId, toolText(5));
      const blob = await app.blobs.get(tenantId, blobId);
      assert.equal(Buffer.from(blob!.data).toString(), "quarterly numbers\n");

      const progress: string[] = [];
      for await (const c of app.kernel.subscribe<{ t: string; data?: { d?: string } }>(runId))
        if (c.data.t === "tool_progress") progress.push(c.data.data?.d ?? "");
      assert.ok(progress.join("").includes("hello\n"), "the output went to the run's stream as it came");

      const texts = [
        ...(await everything(app, b.name)),
        JSON.stringify(logs),
        JSON.stringify(model.requests.map((r) => r.raw)),
        JSON.stringify(await call("GET", "/v1/ssh/hosts").then((r) => r.text)),
      ];
      const pub = readFileSync(`${keyFile}.pub`, "utf8").split(" ")[1] as string;
      assert.ok(
        texts[0]!.includes(pub.slice(20, 60)) || texts.some((x) => x.includes(pub.slice(20, 60))),
        "the search reaches stored rows (the public key is in one)",
      );
      for (const m of marks)
        for (const text of texts)
          assert.equal(text.includes(m), false, `the planted key appears in: ${text.slice(0, 200)}`);
    });

    test("Telegram: the agent adds the host, the person pins its key and approves a command with one tap", {
      timeout: 180_000,
    }, async (t) => {
      const sshd = await startSshd(t);
      const { app, model, tg, post, pair, tenantId } = await pairingTelegramRig(t, b, {
        config: { net: { allowPrivate: false, allowHosts: [`127.0.0.1:${sshd.port}`] } },
      });
      await pair(ALICE);
      // The tenant's key exists before the chat so the test can install it, as the person would.
      sshd.authorize((await app.ssh.keys.ensure(app.tenants.scope(tenantId), "default")).publicKey);
      model.script(
        {
          toolCalls: [
            {
              name: "ssh_host_add",
              arguments: { name: "web1", address: "127.0.0.1", port: sshd.port, user: sshd.user },
            },
          ],
        },
        {
          toolCalls: [
            {
              name: "ssh_host_confirm",
              arguments: { name: "web1", fingerprint: sshd.fingerprint, at: `${sshd.user}@127.0.0.1:${sshd.port}` },
            },
          ],
        },
        // It prints, then keeps running a while: the person watches its output in the live draft meanwhile.
        { toolCalls: [{ name: "ssh", arguments: { host: "web1", command: "uname -s; sleep 2" } }] },
        (req) => ({ text: `Result: ${String(req.body.messages.at(-1)?.content ?? "")}` }),
      );
      await post(textUpdate(ALICE, "add my server web1 and tell me its OS"));
      const tap = async (text: RegExp) => {
        const ask = await until(
          () => sentTo(tg, ALICE.id).find((c) => c.params.reply_markup && text.test(c.params.text)),
          `an approval matching ${text}`,
          60_000,
        );
        const buttons = ask.params.reply_markup.inline_keyboard.flat() as { text: string; callback_data: string }[];
        assert.deepEqual(
          buttons.map((k) => k.text),
          ["Approve once", "Always", "Deny"],
        );
        assert.equal((await post(pressUpdate(ALICE, buttons[0]!.callback_data))).status, 200);
        return ask.params.text as string;
      };
      const pin = await tap(/ssh_host_confirm/);
      assert.ok(pin.includes(`pin host key ${sshd.fingerprint} for web1 at ${sshd.user}@127.0.0.1:${sshd.port}`), pin);
      const run = await tap(/Approve ssh: /);
      assert.ok(run.includes("uname -s; sleep 2 (on web1)"), run);
      const reply = await until(
        () => sentTo(tg, ALICE.id).find((c) => /^Result:/.test(c.params.text)),
        "the reply",
        60_000,
      );
      assert.match(reply.params.text, /Linux/);
      assert.ok(
        tg
          .callsOf("sendMessageDraft")
          .some((c) => String(c.params.text).includes("uname -s; sleep 2 (on web1)") && /Linux/.test(c.params.text)),
        "the command's output was shown live in the person's draft while it ran",
      );
      assert.equal((await app.ssh.pinnedHost(app.tenants.scope(tenantId), "web1")).fingerprint, sshd.fingerprint);
    });
  });
}
