import { type JSONRPCMessage, ReadBuffer, serializeMessage, type Transport } from "@modelcontextprotocol/client";
import type { SpawnedProcess, SpawnSpec, Spawner } from "./spawn.ts";

/** Largest line a server may send (one JSON-RPC message): past it the connection is closed. */
const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;
/** Of what the server writes to stderr, the last this many characters are kept for an error message. */
const STDERR_TAIL = 2_000;

/**
 * The MCP stdio transport (newline-delimited JSON-RPC over the process's stdin and stdout), on a
 * process started through the `Spawner` port rather than spawned here: the sandbox decides how it
 * runs. Closing kills the process tree.
 */
export class ProcessTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  readonly #spawner: Spawner;
  readonly #spec: SpawnSpec;
  readonly #buffer = new ReadBuffer({ maxBufferSize: MAX_MESSAGE_BYTES });
  #proc: SpawnedProcess | null = null;
  #stderr = "";
  #closed = false;

  constructor(spawner: Spawner, spec: SpawnSpec) {
    this.#spawner = spawner;
    this.#spec = spec;
  }

  get pid(): number | undefined {
    return this.#proc?.pid;
  }

  /** The end of what the server wrote to stderr (for the error when it fails to start). */
  get stderrTail(): string {
    return this.#stderr;
  }

  async start(): Promise<void> {
    if (this.#proc || this.#closed) throw new Error("this transport was started already");
    const proc = await this.#spawner.spawn(this.#spec);
    this.#proc = proc;
    proc.stdout.on("data", (chunk: Buffer) => {
      try {
        this.#buffer.append(chunk);
        for (let m = this.#buffer.readMessage(); m; m = this.#buffer.readMessage()) this.onmessage?.(m);
      } catch (e) {
        this.onerror?.(e instanceof Error ? e : new Error(String(e)));
        void this.close();
      }
    });
    proc.stderr.on("data", (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString("utf8")).slice(-STDERR_TAIL);
    });
    for (const s of [proc.stdin, proc.stdout, proc.stderr]) s.on("error", (e) => this.onerror?.(e));
    void proc.exited.then(() => this.#ended());
    // A command that cannot be started fails here rather than on the first message.
    await new Promise<void>((resolve, reject) => {
      if (proc.pid !== undefined) return resolve();
      void proc.exited.then(() => reject(new Error(`could not start ${this.#spec.command}`)));
    });
  }

  async send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.#proc?.stdin;
    if (!stdin || this.#closed) throw new Error("the MCP server's process is not running");
    await new Promise<void>((resolve, reject) => {
      stdin.write(serializeMessage(message), (e) => (e ? reject(e) : resolve()));
    });
  }

  async close(): Promise<void> {
    const proc = this.#proc;
    if (!proc) return;
    this.#closed = true;
    proc.stdin.end();
    await proc.kill();
    this.#ended();
  }

  #ended(): void {
    if (this.#buffer) this.#buffer.clear();
    const cb = this.onclose;
    this.onclose = undefined;
    this.#closed = true;
    cb?.();
  }
}
