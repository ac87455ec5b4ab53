import { AgentdError } from "../errors.ts";

/**
 * A channel's inbound file that will not be fetched or kept. The message is safe to show to the
 * person and the agent (it names no credential). `permanent`: retrying cannot help, so the message
 * is kept with a note; otherwise the webhook fails and the provider delivers it again.
 */
export class MediaFetchError extends AgentdError<"media_fetch"> {
  readonly permanent: boolean;
  constructor(message: string, permanent: boolean) {
    super("media_fetch", message);
    this.permanent = permanent;
  }
}
