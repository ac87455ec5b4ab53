import { AgentdError } from "../errors.ts";

/**
 * A file that could not be read (transcribed, its text extracted). The message is safe to show to
 * the person and the agent: no credential, no server address. "failed": trying again cannot help
 * (a refused key, a format the server does not take, a broken PDF), the message goes on with a note;
 * "unavailable": it may (the server down, a rate limit), the channel fails its webhook and the
 * provider delivers the message again.
 */
export class MediaReadError extends AgentdError<"failed" | "unavailable"> {
  get permanent(): boolean {
    return this.code === "failed";
  }
}
