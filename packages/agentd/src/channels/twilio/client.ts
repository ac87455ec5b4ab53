import twilio from "twilio";
import type { RequestOptions } from "twilio/lib/base/RequestClient.js";

export type TwilioClient = ReturnType<typeof twilio>;

const TWILIO_ORIGIN = /^https:\/\/api(?:\.[a-z0-9-]+)*\.twilio\.com/;

/**
 * The real `twilio` REST client. With `apiBaseUrl` its requests go to that origin instead of
 * https://api.twilio.com (a stand-in in tests, a proxy in production), through the SDK's supported
 * extension point: a custom `httpClient` (a `RequestClient` that rewrites the origin).
 */
export function twilioClient(
  accountSid: string,
  authToken: string,
  opts: {
    apiBaseUrl?: string;
    autoRetry?: boolean;
    maxRetries?: number;
    maxRetryDelay?: number;
    timeout?: number;
  } = {},
): TwilioClient {
  const retry = {
    autoRetry: opts.autoRetry ?? true,
    maxRetries: opts.maxRetries ?? 3,
    maxRetryDelay: opts.maxRetryDelay ?? 3000,
    ...(opts.timeout ? { timeout: opts.timeout } : {}),
  };
  if (!opts.apiBaseUrl) return twilio(accountSid, authToken, retry);
  const base = opts.apiBaseUrl.replace(/\/+$/, "");
  class Rebased extends twilio.RequestClient {
    override request<TData>(o: RequestOptions<TData>) {
      return super.request<TData>({ ...o, uri: String(o.uri).replace(TWILIO_ORIGIN, base) });
    }
  }
  return twilio(accountSid, authToken, { httpClient: new Rebased(retry), ...retry });
}
