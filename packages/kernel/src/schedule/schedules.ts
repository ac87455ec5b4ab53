import type { Clock } from "../clock.ts";
import { InvalidScheduleError, ScheduleExistsError, ScheduleNotFoundError, UnknownWorkflowError } from "../errors.ts";
import { decodeJson, encodeJson } from "../json.ts";
import type { Store } from "../store/types.ts";
import type { Registry } from "../workflow.ts";
import { nextTick, parseCron, ticksBetween } from "./cron.ts";
import type { CatchUpPolicy, OverlapPolicy, ScheduleRecord, ScheduleSpec, TickRecord } from "./types.ts";

/** A schedule as people and APIs see it: input decoded, the next fire times listed. */
export interface ScheduleInfo {
  id: string;
  namespace: string;
  workflow: string;
  cron: string;
  timezone: string;
  input: unknown;
  overlap: OverlapPolicy;
  catchUp: CatchUpPolicy;
  paused: boolean;
  lastRunId: string | null;
  /** The next times it fires (none while paused). */
  nextFireTimes: number[];
  createdAt: number;
  updatedAt: number;
}

const ID = /^[A-Za-z0-9_.:/-]{1,200}$/;
const OVERLAP: OverlapPolicy[] = ["skip", "queue", "allow"];

/** Create, change, pause, resume and delete schedules at run time. Ticks are fired by the workers. */
export class Schedules {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #registry: Registry;
  readonly #maxValueBytes: number;
  readonly #changed: () => void;

  constructor(store: Store, clock: Clock, registry: Registry, maxValueBytes: number, changed: () => void) {
    this.#store = store;
    this.#clock = clock;
    this.#registry = registry;
    this.#maxValueBytes = maxValueBytes;
    this.#changed = changed;
  }

  async create(spec: ScheduleSpec): Promise<ScheduleInfo> {
    const now = this.#clock.now();
    const id = spec.id ?? crypto.randomUUID();
    const rec = this.#build(id, spec, now, null);
    if (!(await this.#store.insertSchedule(rec))) throw new ScheduleExistsError(id);
    this.#changed();
    return this.#info(rec);
  }

  /** Changes a schedule's definition; its next tick is computed afresh from now. */
  async update(id: string, patch: Partial<Omit<ScheduleSpec, "id">>): Promise<ScheduleInfo> {
    const cur = await this.#get(id);
    const spec: ScheduleSpec = {
      workflow: cur.workflow,
      cron: cur.cron,
      timezone: cur.timezone,
      input: decodeJson(cur.input),
      overlap: cur.overlap,
      catchUp: cur.catchUp === "all" ? { all: cur.catchUpMax } : cur.catchUp,
      namespace: cur.namespace,
      paused: cur.paused,
      ...patch,
    };
    const now = this.#clock.now();
    const rec = this.#build(id, spec, now, cur);
    const ticks = this.#missed(cur, rec, now);
    if (!(await this.#store.updateSchedule(rec, ticks))) throw new ScheduleNotFoundError(id);
    this.#changed();
    return this.#info(rec);
  }

  /**
   * Ticks that fell due before this update and were not handled yet. While the schedule runs on with
   * the same expression and zone, they stay due (its next tick is kept) so the workers handle them by
   * the catch-up policy; ticks of an expression that changed, that a pause stops, or that fell in a
   * pause are recorded as skipped with why (never invented from the new expression).
   */
  #missed(cur: ScheduleRecord, rec: ScheduleRecord, now: number): TickRecord[] {
    if (cur.nextAt === null || cur.nextAt > now || (cur.paused && rec.paused)) return [];
    const same = cur.cron === rec.cron && cur.timezone === rec.timezone;
    if (!cur.paused && !rec.paused && same) {
      rec.nextAt = rec.dueAt = cur.nextAt;
      return [];
    }
    const { ticks, more } = ticksBetween(parseCron(cur.cron, cur.timezone), cur.nextAt, now, 1);
    const n = ticks.length + more;
    const span = `${n} tick${n === 1 ? "" : "s"} from ${new Date(cur.nextAt).toISOString()}`;
    const at = new Date(now).toISOString();
    const reason = cur.paused
      ? `${span} fell while the schedule was paused; resumed at ${at} (a resumed schedule runs from now)`
      : rec.paused
        ? `missed: ${span} had not run when the schedule was paused at ${at}`
        : `missed: ${span} had not run when the schedule's expression changed at ${at} (the new one runs from now)`;
    return [{ scheduleId: cur.id, tickAt: cur.nextAt, status: "skipped", runId: null, reason, firedAt: now }];
  }

  pause(id: string): Promise<ScheduleInfo> {
    return this.update(id, { paused: true });
  }

  /** Resumes from now: ticks that fell in the pause are not run. */
  resume(id: string): Promise<ScheduleInfo> {
    return this.update(id, { paused: false });
  }

  async delete(id: string): Promise<void> {
    if (!(await this.#store.deleteSchedule(id))) throw new ScheduleNotFoundError(id);
  }

  async get(id: string): Promise<ScheduleInfo> {
    return this.#info(await this.#get(id));
  }

  async list(filter: { namespace?: string } = {}): Promise<ScheduleInfo[]> {
    return (await this.#store.listSchedules(filter)).map((r) => this.#info(r));
  }

  /** What happened at each handled tick, newest first: the run it started, or why it was skipped or queued. */
  async ticks(id: string, limit = 100): Promise<TickRecord[]> {
    await this.#get(id);
    return this.#store.listTicks(id, limit);
  }

  async #get(id: string): Promise<ScheduleRecord> {
    const r = await this.#store.getSchedule(id);
    if (!r) throw new ScheduleNotFoundError(id);
    return r;
  }

  #build(id: string, spec: ScheduleSpec, now: number, cur: ScheduleRecord | null): ScheduleRecord {
    if (typeof id !== "string" || !ID.test(id))
      throw new InvalidScheduleError(
        `schedule id ${JSON.stringify(id)} is invalid: use 1 to 200 letters, digits or _ . : / -.`,
      );
    if (typeof spec.workflow !== "string" || spec.workflow === "")
      throw new InvalidScheduleError("a schedule needs the name of the workflow it starts.");
    if (this.#registry.names().length > 0 && !this.#registry.get(spec.workflow))
      throw new UnknownWorkflowError(spec.workflow, this.#registry.names());
    const timezone = spec.timezone ?? "UTC";
    const cron = parseCron(spec.cron, timezone);
    const overlap = spec.overlap ?? "skip";
    if (!OVERLAP.includes(overlap))
      throw new InvalidScheduleError(`overlap must be one of ${OVERLAP.join(", ")}, got ${JSON.stringify(overlap)}.`);
    const c = spec.catchUp ?? "latest";
    let catchUp: ScheduleRecord["catchUp"];
    let catchUpMax = 1;
    if (c === "none" || c === "latest") catchUp = c;
    else if (typeof c === "object" && c !== null && Number.isInteger(c.all) && c.all >= 1 && c.all <= 1_000) {
      catchUp = "all";
      catchUpMax = c.all;
    } else
      throw new InvalidScheduleError(
        `catchUp must be "none", "latest" or { all: N } with N from 1 to 1000, got ${JSON.stringify(c)}.`,
      );
    const paused = spec.paused ?? false;
    const nextAt = nextTick(cron, now);
    return {
      id,
      namespace: spec.namespace ?? "default",
      workflow: spec.workflow,
      cron: spec.cron,
      timezone,
      input: encodeJson(spec.input ?? null, `the input of schedule "${id}"`, this.#maxValueBytes),
      overlap,
      catchUp,
      catchUpMax,
      paused,
      nextAt,
      dueAt: nextAt,
      lastRunId: cur?.lastRunId ?? null,
      createdAt: cur?.createdAt ?? now,
      updatedAt: now,
    };
  }

  #info(r: ScheduleRecord): ScheduleInfo {
    const next: number[] = [];
    if (!r.paused) {
      const cron = parseCron(r.cron, r.timezone);
      for (let t = r.nextAt; t !== null && next.length < 5; t = nextTick(cron, t)) next.push(t);
    }
    return {
      id: r.id,
      namespace: r.namespace,
      workflow: r.workflow,
      cron: r.cron,
      timezone: r.timezone,
      input: decodeJson(r.input),
      overlap: r.overlap,
      catchUp: r.catchUp === "all" ? { all: r.catchUpMax } : r.catchUp,
      paused: r.paused,
      lastRunId: r.lastRunId,
      nextFireTimes: next,
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
    };
  }
}
