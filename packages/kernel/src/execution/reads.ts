import type { EntryRecord, EventRecord, RunRecord, Store } from "../store/types.ts";

/** What a claimed run replays from: its journal, its buffered events and the children it waits for. */
export async function loadRun(
  store: Store,
  runId: string,
): Promise<{ journal: EntryRecord[]; events: EventRecord[]; children: RunRecord[] }> {
  const journal = await store.loadJournal(runId);
  const events = await store.loadEvents(runId);
  const waiting = journal
    .filter((e) => e.kind === "invoke" && e.status === "waiting" && e.ref)
    .map((e) => e.ref as string);
  const children = waiting.length ? await store.getRuns(waiting) : [];
  return { journal, events, children };
}

/**
 * What a woken run waits on, read again: its events if it waits for one, the children it waits for.
 * Null for what it does not wait on (nothing read).
 */
export async function reread(
  store: Store,
  runId: string,
  waitsOn: { events: readonly string[]; children: readonly string[] },
): Promise<{ events: EventRecord[] | null; children: RunRecord[] }> {
  const events = waitsOn.events.length ? await store.loadEvents(runId) : null;
  const children = waitsOn.children.length ? await store.getRuns([...waitsOn.children]) : [];
  return { events, children };
}
