import { createInterface, type Interface } from "node:readline";

/**
 * The lines a person types (or a pipe holds), one at a time, each asked for with a prompt when
 * stdin is a terminal. Lines that arrive while nobody asks are kept in order.
 */
export class Lines {
  readonly interactive: boolean;
  readonly #rl: Interface;
  readonly #queue: string[] = [];
  #waiter: ((line: string | null) => void) | null = null;
  #closed = false;

  constructor(
    input: NodeJS.ReadStream = process.stdin,
    output: NodeJS.WriteStream = process.stdout,
    onInterrupt?: () => void,
  ) {
    this.interactive = Boolean(input.isTTY && output.isTTY);
    this.#rl = createInterface({ input, output: this.interactive ? output : undefined, terminal: this.interactive });
    this.#rl.on("line", (line) => {
      if (this.#waiter) this.#take(line);
      else this.#queue.push(line);
    });
    this.#rl.on("close", () => {
      this.#closed = true;
      this.#take(null);
    });
    // In a terminal, readline catches Ctrl-C itself; without this it would only pause input.
    if (onInterrupt) this.#rl.on("SIGINT", onInterrupt);
  }

  /** The next line, or null at the end of input. */
  next(prompt = "> "): Promise<string | null> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#closed) return Promise.resolve(null);
    if (this.interactive) {
      this.#rl.setPrompt(prompt);
      this.#rl.prompt();
    }
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  close(): void {
    this.#rl.close();
  }

  #take(line: string | null): void {
    const w = this.#waiter;
    this.#waiter = null;
    w?.(line);
  }
}
