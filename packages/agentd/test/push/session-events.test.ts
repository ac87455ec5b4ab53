import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FakeClock } from "@agentd/kernel";
import { ADMIN, served } from "../support/api.ts";
import { BACKENDS } from "../support/backends.ts";

interface Frame {
  event: string;
  id: number | undefined;
  data: any;
}

/** Reads a never-ending SSE answer until `enough` says so, then leaves (as a client does). */
async function readUntil(
  url: string,
  headers: Record<string, string>,
  enough: (frames: Frame[]) => boolean,
  opened: () => void = () => {},
) {
  const leave = new AbortController();
  const res = await fetch(url, { headers: { accept: "text/event-stream", ...headers }, signal: leave.signal });
  assert.equal(res.status, 200, await (res.status === 200 ? "" : res.text()));
  const frames: Frame[] = [];
  const dec = new TextDecoder();
  let buf = "";
  try {
    for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += dec.decode(part, { stream: true });
      for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const f: Frame = { event: "message", id: undefined, data: undefined };
        for (const line of block.split("\n")) {
          if (line.startsWith("event: ")) f.event = line.slice(7);
          else if (line.startsWith("id: ")) f.id = Number(line.slice(4));
          else if (line.startsWith("data: ")) f.data = JSON.parse(line.slice(6));
        }
        if (f.data !== undefined) frames.push(f);
        if (f.event === "ready") opened();
      }
      if (enough(frames)) break;
    }
  } finally {
    leave.abort();
  }
  return frames;
}

for (const b of BACKENDS) {
  describe(`a session's events (${b.name})`, () => {
    test("background results arrive without polling; Last-Event-ID resumes after exactly what was seen; ?after=0 replays", async (t) => {
      const s = await served(t, b);
      const posted = await s.call("POST", "/v1/messages", { body: { text: "Hello", conversation: "push" } });
      const sessionId = posted.body.sessionId as string;
      await s.app.kernel.result(posted.body.runId);
      const auth = { authorization: `Bearer ${s.key}` };
      const url = `${s.url}/v1/sessions/${sessionId}/events`;

      // Only what comes after the stream opened: a reminder's turn (a background event) and its reply.
      let ready = () => {};
      const opened = new Promise<void>((r) => {
        ready = r;
      });
      const live = readUntil(url, auth, (f) => f.some((x) => x.data.role === "assistant"), ready);
      await opened;
      s.model.script({ text: "Time to stretch." });
      await s.app.inbox.background({
        tenantId: s.tenantId,
        sessionId,
        prompt: "Remind the person to stretch",
        sourceKey: "reminder:r1",
        label: "a reminder",
      });
      const frames = await live;
      assert.equal(frames[0]?.event, "ready");
      const messages = frames.filter((f) => f.event === "message");
      assert.deepEqual(
        messages.map((f) => [f.data.role, f.data.content]),
        [
          ["event", "Remind the person to stretch"],
          ["assistant", "Time to stretch."],
        ],
      );
      for (const f of messages) assert.equal(f.id, f.data.seq, "the event id is the message's seq");

      // Resuming after the first of them gives the rest, and nothing twice.
      const resumed = await readUntil(url, { ...auth, "last-event-id": String(messages[0]?.id) }, (f) =>
        f.some((x) => x.data.role === "assistant"),
      );
      assert.deepEqual(
        resumed.filter((f) => f.event === "message").map((f) => f.data.content),
        ["Time to stretch."],
      );
      const all = await readUntil(`${url}?after=0`, auth, (f) => f.filter((x) => x.event === "message").length >= 4);
      assert.deepEqual(
        all.filter((f) => f.event === "message").map((f) => f.data.role),
        ["user", "assistant", "event", "assistant"],
      );

      assert.equal((await s.call("GET", `/v1/sessions/ses_nope/events`)).status, 404);
      const bad = await s.call("GET", `/v1/sessions/${sessionId}/events`, { headers: { "last-event-id": "x" } });
      assert.equal(bad.status, 400);
      assert.match(bad.body.error.message, /Last-Event-ID/);
      const other = await s.call("POST", "/v1/tenants", { token: ADMIN, body: { name: "other" } });
      const theirs = await s.call("GET", `/v1/sessions/${sessionId}/events`, { token: other.body.apiKey });
      assert.equal(theirs.status, 404, "another tenant's session is not found");
    });

    test("a reminder set through the API fires on the kernel's clock and its result reaches the open stream", async (t) => {
      const clock = new FakeClock(Date.UTC(2026, 11, 7, 9, 0));
      const s = await served(t, b, { clock });
      const posted = await s.call("POST", "/v1/messages", { body: { text: "Hello", conversation: "later" } });
      const sessionId = posted.body.sessionId as string;
      await s.app.kernel.result(posted.body.runId);
      const set = await s.call("POST", "/v1/schedules", {
        body: { prompt: "Tell the person the tea is ready", at: "2026-12-07T09:05:00Z", sessionId },
      });
      assert.equal(set.status, 201, set.text);

      let ready = () => {};
      const opened = new Promise<void>((r) => {
        ready = r;
      });
      const live = readUntil(
        `${s.url}/v1/sessions/${sessionId}/events`,
        { authorization: `Bearer ${s.key}` },
        (f) => f.some((x) => x.data.role === "assistant"),
        ready,
      );
      await opened;
      s.model.script({ text: "Your tea is ready." });
      await clock.advance(5 * 60_000);
      const messages = (await live).filter((f) => f.event === "message");
      assert.deepEqual(
        messages.map((f) => f.data.role),
        ["event", "assistant"],
      );
      assert.match(messages[0]?.data.content, /tea is ready/);
      assert.equal(messages[1]?.data.content, "Your tea is ready.");
    });
  });
}
