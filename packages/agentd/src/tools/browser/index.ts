import { z } from "zod";
import type { BlobStore } from "../../blobs/types.ts";
import { withFiles } from "../files.ts";
import type { Tool } from "../types.ts";
import {
  type ActionLimits,
  byRef,
  checkHttpUrl,
  download,
  navigate,
  pageText,
  savedNote,
  screenshot,
  settle,
  upload,
  view,
} from "./actions.ts";
import { BrowserError } from "./errors.ts";
import type { BrowserManager } from "./manager.ts";

export { findChromium } from "./chromium.ts";
export { BrowserError } from "./errors.ts";
export { BrowserManager, type BrowserLimits, DEFAULT_LIMITS } from "./manager.ts";
export { vaultStateStore } from "./state.ts";

export const DEFAULT_ACTION_LIMITS: ActionLimits = {
  snapshotBytes: 12_000,
  textChars: 8_000,
  downloadBytes: 20 * 1024 * 1024,
};

const url = z.string().max(4000);
const ref = z.string().max(20);

const ReadArgs = z.object({
  action: z.enum([
    "open",
    "open_tab",
    "snapshot",
    "text",
    "screenshot",
    "scroll",
    "back",
    "hover",
    "wait_for",
    "tabs",
    "tab",
  ]),
  url: url.optional(),
  ref: ref.optional(),
  text: z.string().max(200).optional(),
  direction: z.enum(["up", "down"]).optional(),
  tab: z.number().int().min(0).max(20).optional(),
  interactive: z.boolean().optional(),
  depth: z.number().int().min(1).max(30).optional(),
});

const ActArgs = z.object({
  action: z.enum(["click", "type", "select", "press", "download", "upload"]),
  url: url,
  ref: ref.optional(),
  text: z.string().max(4000).optional(),
  submit: z.boolean().optional(),
  values: z.array(z.string().max(200)).max(20).optional(),
  key: z.string().max(40).optional(),
  blob: z.string().max(80).optional(),
});

type Read = z.infer<typeof ReadArgs>;
type Act = z.infer<typeof ActArgs>;

function need<T>(v: T | undefined, what: string, action: string): T {
  if (v === undefined) throw new BrowserError("failed", `${action} needs ${what}`);
  return v;
}

const originOf = (u: string) => {
  try {
    return new URL(u).origin;
  } catch {
    return u;
  }
};

const hostOf = (u: string) => {
  try {
    return new URL(u).hostname;
  } catch {
    return "?";
  }
};

/**
 * What policies match for an action: `click shop.example.com https://shop.example.com/cart`. The URL
 * is normalized (no spaces), so the host field is the only place a pattern such as
 * `* *.example.com *` can match: a path that mentions another host cannot pass for it.
 */
export function actSubject(action: string, url: string): string {
  try {
    const u = new URL(url);
    return `${action} ${u.hostname} ${u.href}`;
  } catch {
    return `${action} ? ${encodeURI(url.slice(0, 200))}`;
  }
}

/**
 * The browser tools. `browser_handoff` asks the person to take over (a login) and waits. `browser` reads (open, snapshot, text, screenshot, scroll, back, hover, wait,
 * tabs) and is allowed by default; `browser_act` changes things (click, type, select, press, download,
 * upload): it names the page's URL, which must be the page's, so a policy can allow it on some sites and
 * ask elsewhere ("Always" allows the site).
 */
export function browserTools(deps: {
  manager: BrowserManager;
  blobs: BlobStore;
  limits?: Partial<ActionLimits>;
}): Tool[] {
  const b = { ...DEFAULT_ACTION_LIMITS, ...deps.limits };
  const m = deps.manager;
  const stepMs = m.limits.actionTimeoutMs * 3 + 10_000;

  const browser: Tool<Read> = {
    name: "browser",
    description: "A real browser: open a URL, read its accessibility snapshot (elements have refs).",
    input: ReadArgs,
    risk: "medium",
    defaultDecision: "allow",
    untrusted: true,
    timeoutMs: stepMs,
    maxOutputChars: b.snapshotBytes + 2_000,
    subject: (a) => (a.url ? `${a.action} ${a.url}` : a.action),
    run: (a, ctx) =>
      m.use(
        ctx.tenant.tenantId,
        async (s) => {
          let page = await s.page();
          switch (a.action) {
            case "open":
            case "open_tab":
              checkHttpUrl(need(a.url, "a url", a.action));
              if (a.action === "open_tab") page = await s.newPage();
              await navigate(s, page, a.url!);
              return view(s, page, b);
            case "snapshot":
              return view(s, page, b, {
                interactiveOnly: a.interactive ?? false,
                ...(a.depth ? { depth: a.depth } : {}),
              });
            case "text":
              return `Page: ${page.url()}\n${await pageText(page, b.textChars)}`;
            case "screenshot": {
              const shot = await screenshot(ctx.tenant.tenantId, page, deps.blobs);
              return withFiles(await view(s, page, b, { note: savedNote(shot), interactiveOnly: true }), {
                show: [shot],
              });
            }
            case "scroll":
              await page.mouse.wheel(0, a.direction === "up" ? -700 : 700);
              return view(s, page, b);
            case "back":
              await settle(page, () => page.goBack({ waitUntil: "domcontentloaded" }));
              return view(s, page, b);
            case "hover":
              {
                const el = await byRef(page, need(a.ref, "a ref", "hover"));
                await settle(page, () => el.hover(), 1_000);
              }
              return view(s, page, b);
            case "wait_for":
              await page
                .getByText(need(a.text, "text", "wait_for"))
                .first()
                .waitFor({ state: "visible" });
              return view(s, page, b);
            case "tabs":
              return (
                s
                  .pages()
                  .map((p, i) => `${i === s.active ? "*" : " "} ${i}: ${p.url()}`)
                  .join("\n") || "no tabs open"
              );
            case "tab":
              return view(s, s.select(need(a.tab, "a tab number", "tab")), b);
          }
        },
        ctx.signal,
      ),
  };

  const act: Tool<Act> = {
    name: "browser_act",
    description: "Act on the browser page by ref; url: the page URL as last shown.",
    input: ActArgs,
    risk: "high",
    defaultDecision: "ask",
    untrusted: true,
    timeoutMs: stepMs,
    maxOutputChars: b.snapshotBytes + 2_000,
    subject: (a) => actSubject(a.action, a.url),
    always: (a) => ({
      pattern: `* ${hostOf(a.url)} ${originOf(a.url)}/*`,
      shown: `every browser_act on ${originOf(a.url)}`,
    }),
    run: (a, ctx) =>
      m.use(
        ctx.tenant.tenantId,
        async (s) => {
          const page = await s.page();
          // The approval and the policy were about this site: acting on another is refused.
          if (originOf(page.url()) !== originOf(a.url))
            throw new BrowserError(
              "stale",
              `the page is at ${page.url()}, not ${a.url}: take a new snapshot and act on what it shows`,
            );
          const tenant = ctx.tenant.tenantId;
          switch (a.action) {
            case "click": {
              const el = await byRef(page, need(a.ref, "a ref", "click"));
              await settle(page, () => el.click());
              return view(s, await s.page(), b);
            }
            case "type": {
              const el = await byRef(page, need(a.ref, "a ref", "type"));
              await el.fill(need(a.text, "text", "type"));
              if (a.submit) await settle(page, () => el.press("Enter"));
              return view(s, await s.page(), b);
            }
            case "select":
              {
                const el = await byRef(page, need(a.ref, "a ref", "select"));
                await settle(page, () => el.selectOption(need(a.values, "values", "select")));
              }
              return view(s, page, b);
            case "press":
              {
                const key = need(a.key, "a key", "press");
                const el = a.ref ? await byRef(page, a.ref) : null;
                await settle(page, () => (el ? el.press(key) : page.keyboard.press(key)));
              }
              return view(s, await s.page(), b);
            case "download":
              return view(s, page, b, {
                note: await download(tenant, page, need(a.ref, "a ref", "download"), deps.blobs, b.downloadBytes),
                interactiveOnly: true,
              });
            case "upload":
              return view(s, page, b, {
                note: await upload(
                  tenant,
                  page,
                  need(a.ref, "a ref", "upload"),
                  need(a.blob, "a blob id", "upload"),
                  deps.blobs,
                ),
              });
          }
        },
        ctx.signal,
      ),
  };
  const handoff: Tool<{ reason: string }> = {
    name: "browser_handoff",
    description: "Ask the person to take over the browser (a login with 2FA, a captcha); returns when they are done.",
    input: z.object({ reason: z.string().min(1).max(300) }),
    risk: "low",
    defaultDecision: "allow",
    untrusted: true,
    timeoutMs: stepMs,
    maxOutputChars: b.snapshotBytes + 2_000,
    subject: (a) => a.reason,
    handoff: (_a, tenant) =>
      m.use(tenant, async (s) => ({ files: [await screenshot(tenant, await s.page(), deps.blobs)] })),
    async run(_a, ctx) {
      // The person worked in a live view, perhaps served by another process: the state they left is
      // in the vault, and this worker's context (if it has one) is older.
      await m.forget(ctx.tenant.tenantId);
      return m.use(
        ctx.tenant.tenantId,
        async (s) => view(s, await s.page(), b, { note: "The person is done; the page as they left it:" }),
        ctx.signal,
      );
    },
  };
  return [browser as Tool, act as Tool, handoff as Tool];
}
