// A function runtime for tests, with the rules a platform imposes: each invocation runs in a fresh
// process (cold) or a reused one (warm), at random; a process is frozen (SIGSTOP) between its
// invocations, so nothing runs then; an invocation still running at the time limit is SIGKILLed,
// and some are SIGKILLed at a random moment, as a platform may at any time.
import { type ChildProcess, fork } from "node:child_process";
import type { Invoke, Reply } from "./procs/function.ts";

const FUNCTION = new URL("./procs/function.ts", import.meta.url).pathname;

export interface SimRequest {
  path: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

/** One invocation as the platform saw it. */
export interface InvocationRecord {
  id: number;
  path: string;
  cold: boolean;
  /** Real time, for matching what the stand-ins saw to the invocation it came from. */
  start: number;
  end: number;
  status: number | null;
  body: string | null;
  /** Why it was killed: at the time limit, at a random moment, or as soon as it answered (asked); null when it ended. */
  killed: "limit" | "random" | "answered" | null;
}

export interface RuntimeOptions {
  env: Record<string, string>;
  limitMs: number;
  /** The chance an invocation is killed at a random moment: within `killWithinMs` of its start, after the instance's cold start. */
  killChance: number;
  killWithinMs: number;
  /** The chance a warm instance is reused, when there is one. */
  warmChance: number;
  random: () => number;
}

interface Instance {
  proc: ChildProcess;
  exited: Promise<void>;
  stderr: string[];
}

export class FunctionRuntime {
  readonly records: InvocationRecord[] = [];
  readonly #o: RuntimeOptions;
  #warm: Instance | null = null;
  #next = 1;
  /** How long the latest cold start took to answer: random kills of a cold instance come after it. */
  #coldMs = 0;

  constructor(o: RuntimeOptions) {
    this.#o = o;
  }

  /**
   * Runs one invocation to its end (its answer and what it handed to waitUntil), or its kill;
   * `killAfterAnswer`: killed the moment its answer arrives, as a platform without waitUntil may.
   */
  async invoke(
    request: SimRequest,
    fakeNow: number,
    opts: { killAfterAnswer?: boolean } = {},
  ): Promise<InvocationRecord> {
    const o = this.#o;
    const cold = !this.#warm || o.random() >= o.warmChance;
    // A platform reclaims instances without notice: an idle one not reused is killed.
    if (cold && this.#warm) this.#kill(this.#warm);
    const inst = cold ? this.#spawn() : (this.#warm as Instance);
    this.#warm = null;
    if (!cold) inst.proc.kill("SIGCONT");
    const id = this.#next++;
    const start = Date.now();
    const rec: InvocationRecord = {
      id,
      path: request.path,
      cold,
      start,
      end: start,
      status: null,
      body: null,
      killed: null,
    };
    this.records.push(rec);
    const randomKillAt = o.random() < o.killChance ? (cold ? this.#coldMs : 0) + o.random() * o.killWithinMs : null;
    const killAt = Math.min(randomKillAt ?? o.limitMs, o.limitMs);
    const outcome = await new Promise<"ended" | "killed" | "exited">((resolve) => {
      const timer = setTimeout(() => {
        rec.killed = killAt === randomKillAt ? "random" : "limit";
        this.#kill(inst);
        resolve("killed");
      }, killAt);
      const onMessage = (m: Reply) => {
        if (m.id !== id) return;
        if (m.type === "response") {
          [rec.status, rec.body] = [m.status, m.body];
          if (cold) this.#coldMs = Date.now() - start;
          if (opts.killAfterAnswer) {
            rec.killed = "answered";
            this.#kill(inst);
            return done("killed");
          }
        }
        if (m.type === "failed") inst.stderr.push(m.error);
        if (m.type === "ended" || m.type === "failed") done("ended");
      };
      const done = (how: "ended" | "exited" | "killed") => {
        clearTimeout(timer);
        inst.proc.off("message", onMessage);
        resolve(how);
      };
      inst.proc.on("message", onMessage);
      void inst.exited.then(() => done("exited"));
      const msg: Invoke = {
        type: "invoke",
        id,
        fakeNow,
        deadline: start + o.limitMs,
        request: { method: "GET", headers: {}, ...request },
      };
      inst.proc.send(msg);
    });
    rec.end = Date.now();
    if (outcome === "exited" && rec.killed === null)
      throw new Error(`the function exited by itself during ${request.path}: ${inst.stderr.join("\n").slice(-2000)}`);
    if (outcome === "ended") {
      inst.proc.kill("SIGSTOP"); // frozen until its next invocation: nothing runs in between
      this.#warm = inst;
    }
    return rec;
  }

  /** Kills every instance. */
  async close(): Promise<void> {
    if (this.#warm) {
      const w = this.#warm;
      this.#kill(w);
      await w.exited;
    }
    this.#warm = null;
  }

  /** What the instances wrote to stderr (warnings, errors), for a failing test's message. */
  readonly log: string[] = [];

  #spawn(): Instance {
    const proc = fork(FUNCTION, [], {
      env: { ...this.#o.env, PATH: process.env.PATH ?? "" },
      execPath: process.execPath,
      stdio: ["ignore", "ignore", "pipe", "ipc"],
      serialization: "advanced",
    });
    const stderr: string[] = [];
    proc.stderr?.on("data", (b: Buffer) => {
      stderr.push(b.toString());
      this.log.push(b.toString());
    });
    const exited = new Promise<void>((r) => proc.once("exit", () => r()));
    return { proc, exited, stderr };
  }

  #kill(inst: Instance): void {
    inst.proc.kill("SIGKILL");
  }
}
