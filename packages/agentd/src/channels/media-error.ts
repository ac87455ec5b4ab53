/**
 * A channel's inbound file that will not be fetched or kept. The message is safe to show to the
 * person and the agent (it names no credential). `permanent`: retrying cannot help, so the message
 * is kept with a note; otherwise the webhook fails and the provider delivers it again.
 */
export class MediaFetchError extends Error {
  readonly permanent: boolean;
  constructor(message: string, permanent: boolean) {
    super(message);
    this.name = new.target.name;
    this.permanent = permanent;
  }
}
