import { type Duration, toMs } from "../duration.ts";
import { decodeJson } from "../json.ts";
import { checkName } from "./names.ts";
import { type CommandScope, never } from "./scope.ts";

/** ctx.sleep / ctx.sleepUntil: the due time is journaled, so a replay waits for the same instant. */
export async function sleep(s: CommandScope, name: string, due: () => number): Promise<void> {
  checkName("ctx.sleep", name);
  const wakeAt = due();
  const at = s.next("sleep", name);
  if (!at) return never();
  const [seq, entry] = at;
  if (entry?.status === "completed") return;
  const rec = entry ? { ...entry } : { ...s.entry(seq, "sleep", name, "waiting"), wakeAt };
  if (!entry) s.put(rec);
  await s.until(rec.wakeAt as number);
  rec.status = "completed";
  s.put(rec);
}

/** ctx.waitForEvent: takes the oldest buffered event of that name, or null once the timeout passes. */
export async function waitForEvent<T>(s: CommandScope, name: string, timeout: Duration | undefined): Promise<T | null> {
  checkName("ctx.waitForEvent", name);
  const timeoutMs = timeout === undefined ? null : toMs(timeout);
  const at = s.next("event", name);
  if (!at) return never();
  const [seq, entry] = at;
  if (entry?.status === "completed") return (decodeJson(entry.value) ?? null) as T | null;
  const deadline = timeoutMs === null ? null : s.host.clock.now() + timeoutMs;
  const rec = entry ? { ...entry } : { ...s.entry(seq, "event", name, "waiting"), wakeAt: deadline };
  if (!entry) s.put(rec);
  return new Promise<T | null>((resolve) => {
    s.wait({
      wakeAt: rec.wakeAt,
      event: name,
      poll: (now) => {
        const ev = s.events.find((e) => e.name === name && !s.consumed.has(e.id));
        if (ev) {
          s.consumed.add(ev.id);
          s.write({ op: "consumeEvent", eventRowId: ev.id, seq });
          s.put({ ...rec, status: "completed", value: ev.payload, ref: ev.eventId });
          resolve((decodeJson(ev.payload) ?? null) as T | null);
          return true;
        }
        if (rec.wakeAt !== null && now >= rec.wakeAt) {
          s.put({ ...rec, status: "completed", value: null });
          resolve(null);
          return true;
        }
        return false;
      },
    });
  });
}
