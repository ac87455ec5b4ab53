import { z } from "zod";
import { guardedFetch } from "../../net/guard.ts";
import { originOf, plainHost } from "../../net/origin.ts";
import { readableText } from "../../net/readable.ts";
import type { Tool } from "../types.ts";

const Args = z.object({
  url: z
    .url({ protocol: /^https?$/ })
    .max(4000)
    .refine(plainHost, "a host name cannot contain *"),
});

const MAX_BYTES = 3_000_000;
const TIMEOUT_MS = 20_000;
/** Text kept for the model: the tool's output stays under its 8,000-character cut with room for the rest. */
const MAX_TEXT = 7_000;

/** web_fetch: the readable text of a page, SSRF-guarded (see net/guard.ts). */
export const webFetchTool: Tool<z.infer<typeof Args>> = {
  name: "web_fetch",
  description: "Fetch a web page and return its readable text.",
  input: Args,
  risk: "medium",
  defaultDecision: "allow",
  untrusted: true,
  timeoutMs: TIMEOUT_MS + 5_000,
  subject: (a) => new URL(a.url).href,
  always: (a) => ({ pattern: `${originOf(a.url)}/*`, shown: `every web_fetch from ${originOf(a.url)}` }),
  async run(args, ctx) {
    const res = await guardedFetch(
      args.url,
      { headers: { accept: "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5" } },
      ctx.services.net,
      { maxBytes: MAX_BYTES, timeoutMs: TIMEOUT_MS, signal: ctx.signal },
    );
    const page = readableText(res.body, res.headers["content-type"]);
    const text = ctx.redact(page.text); // before the cut: a secret straddling it would leave its head
    const cut = text.length > MAX_TEXT;
    return {
      url: res.url,
      status: res.status,
      title: page.title,
      text: cut ? `${text.slice(0, MAX_TEXT)}\n[… page text cut at ${MAX_TEXT} characters]` : text,
      truncated: res.truncated || cut,
    };
  },
};
