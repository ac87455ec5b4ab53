import { type Duration, toMs } from "../duration.ts";
import { uuidv7 } from "../ids.ts";
import { ChildFailedError, InvalidArgumentError } from "../errors.ts";
import { decodeJson, encodeJson } from "../json.ts";
import { type EntryKind, isTerminal } from "../store/types.ts";
import { concurrencyOf, type Workflow } from "../workflow.ts";
import { type CommandScope, never } from "./scope.ts";

/** ctx.invoke: the child run is inserted in the same commit as the journal entry that names it. */
export async function invoke<I, O>(
  s: CommandScope,
  wf: Workflow<I, O>,
  input: I,
  timeout: Duration | undefined,
): Promise<O> {
  if (!wf || typeof wf.name !== "string")
    throw new InvalidArgumentError("ctx.invoke needs a workflow defined with workflow().");
  const at = s.next("invoke", wf.name);
  if (!at) return never();
  const [seq, entry] = at;
  if (entry?.status === "completed") return decodeJson(entry.value) as O;
  if (entry?.status === "failed") {
    s.failed(entry);
    throw new ChildFailedError(entry.ref ?? "?", wf.name, "failed", entry.error?.message ?? "", {
      runId: s.runId,
      seq,
    });
  }
  const rec = entry ? { ...entry } : { ...s.entry(seq, "invoke", wf.name, "waiting"), ref: uuidv7() };
  const childId = rec.ref as string;
  if (!entry) {
    const json = encodeJson(input, `the input of child workflow "${wf.name}"`, s.host.maxValueBytes);
    const timeoutMs = timeout === undefined ? wf.timeoutMs : toMs(timeout);
    s.write({
      op: "insertRun",
      run: {
        id: childId,
        namespace: s.namespace,
        workflow: wf.name,
        key: null,
        input: json,
        parentId: s.runId,
        parentSeq: seq,
        timeoutMs,
        claimedBy: null,
        version: wf.version,
        traceParent: s.childTraceParent(),
        ...concurrencyOf(wf, input, s.namespace),
      },
    });
    s.put(rec);
    void s.durable().then((ok) => ok && s.host.signal());
  }
  return new Promise<O>((resolve, reject) => {
    s.wait({
      wakeAt: null,
      child: childId,
      poll: () => {
        const c = s.children.get(childId);
        if (!c || !isTerminal(c.status)) return false;
        if (c.status === "completed") {
          s.put({ ...rec, status: "completed", value: c.output });
          resolve(decodeJson(c.output) as O);
        } else {
          const error = c.error ?? { name: "Error", message: c.status };
          const failed = { ...rec, status: "failed" as const, error };
          s.put(failed);
          s.failed(failed);
          reject(new ChildFailedError(childId, wf.name, c.status, error.message, { runId: s.runId, seq }));
        }
        return true;
      },
    });
  });
}

/** ctx.now / ctx.uuid / ctx.random: computed once, journaled, replayed. */
export async function recorded<T>(s: CommandScope, kind: EntryKind, make: () => T): Promise<T> {
  const at = s.next(kind, kind);
  if (!at) return never();
  const [seq, entry] = at;
  if (entry) return decodeJson(entry.value) as T;
  const v = make();
  s.put({ ...s.entry(seq, kind, kind, "completed"), value: JSON.stringify(v) });
  return v;
}
