import assert from "node:assert/strict";
import { test } from "node:test";
import { HttpError } from "grammy";
import { describeBotError } from "../../../src/channels/telegram/redact.ts";

test("errors about a bot never carry its token, even when the network error quotes the URL", () => {
  const token = "4444444:SecretPartOfTheToken_dddd";
  const e = new HttpError(
    "Network request for 'getMe' failed!",
    new Error(`request to https://api.telegram.org/bot${token}/getMe failed, reason: ECONNRESET`),
  );
  const line = describeBotError(e, token);
  assert.match(
    line,
    /Network request for 'getMe' failed! request to https:\/\/api\.telegram\.org\/bot\[bot token\]\/getMe failed/,
  );
  assert.ok(!line.includes("SecretPartOfTheToken"));
  assert.equal(describeBotError(new Error(`x ${encodeURIComponent(token)} y`), token), "x [bot token] y");
});
