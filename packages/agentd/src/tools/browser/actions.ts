import { readFile, stat } from "node:fs/promises";
import type { Download, Page, Request } from "playwright-core";
import type { Attachment, BlobStore } from "../../blobs/types.ts";
import { readableText } from "../../net/readable.ts";
import { BrowserError } from "./errors.ts";
import { REFUSED_HEADER } from "../../net/proxy.ts";
import type { TenantSession } from "./session.ts";
import { boundSnapshot } from "./snapshot.ts";

export interface ActionLimits {
  snapshotBytes: number;
  textChars: number;
  downloadBytes: number;
}

/**
 * What the model gets back after every action: where the page is, what the guard refused, and a
 * bounded snapshot (cut at `snapshotBytes`; only interactive elements, or only `depth` levels, when asked).
 */
export async function view(
  s: TenantSession,
  page: Page,
  b: ActionLimits,
  opts: { interactiveOnly?: boolean; note?: string; depth?: number } = {},
): Promise<string> {
  const head = [`Page: ${await title(page)} — ${page.url()}`];
  const tabs = s.pages();
  if (tabs.length > 1) head.push(`Tab ${s.active} of ${tabs.length} (the tabs action lists them)`);
  if (opts.note) head.push(opts.note);
  for (const r of s.takeRefusals()) head.push(`Refused by the network guard: ${r.reason}`);
  if (s.saveError)
    head.push(
      `Note: the browser's state could not be saved after the last step (${s.saveError}): a login may not survive a restart`,
    );
  let snap: string;
  try {
    const yaml = await page.ariaSnapshot({ mode: "ai", timeout: 5_000, ...(opts.depth ? { depth: opts.depth } : {}) });
    snap = boundSnapshot(yaml, {
      maxBytes: b.snapshotBytes,
      interactiveOnly: opts.interactiveOnly ?? false,
    }).text;
  } catch (e) {
    snap = `(no snapshot: ${(e as Error).message.split("\n")[0]})`;
  }
  return `${head.join("\n")}\n${snap}`;
}

async function title(page: Page): Promise<string> {
  return (await page.title().catch(() => "")).slice(0, 200) || "(no title)";
}

/** The element a ref names on the active page; a ref from an older snapshot is "stale". */
export async function byRef(page: Page, ref: string) {
  if (!/^(f\d+)?e\d+$/.test(ref))
    throw new BrowserError(
      "stale",
      `${JSON.stringify(ref.slice(0, 20))} is not a ref from a snapshot (they look like e12 or f1e3)`,
    );
  const loc = page.locator(`aria-ref=${ref}`);
  if ((await loc.count().catch(() => 0)) === 0)
    throw new BrowserError("stale", `ref ${ref} is not on the page any more: take a new snapshot`);
  return loc;
}

export function checkHttpUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new BrowserError("bad_url", `${JSON.stringify(url.slice(0, 200))} is not a URL`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:")
    throw new BrowserError("bad_url", `only http and https pages can be opened, not ${u.protocol}`);
  return u.href;
}

/** Opens a URL on the active page; a page the guard refused says so, whatever Chromium's own error. */
export async function navigate(s: TenantSession, page: Page, url: string): Promise<void> {
  let refusedHere = false;
  try {
    const res = await page.goto(checkHttpUrl(url), { waitUntil: "domcontentloaded" });
    refusedHere = res?.headers()[REFUSED_HEADER] === "1";
  } catch (e) {
    if (BrowserError.is(e)) throw e;
    const refused = s.takeRefusals();
    if (refused.length) throw new BrowserError("refused", refused.map((r) => r.reason).join("; "));
    throw new BrowserError("failed", `opening ${url} failed: ${(e as Error).message.split("\n")[0]}`, { cause: e });
  }
  // A redirect to a refused address ends on the proxy's refusal: the page is not there.
  if (refusedHere)
    throw new BrowserError(
      "refused",
      s
        .takeRefusals()
        .map((r) => r.reason)
        .join("; ") || `the network guard refused ${page.url()}`,
    );
}

/** The page's readable text (Readability over its current DOM), cut to the limit. */
export async function pageText(page: Page, max: number): Promise<string> {
  const html = await page.content();
  const t = readableText(Buffer.from(html), "text/html; charset=utf-8");
  const text = t.text.length > max ? `${t.text.slice(0, max)}\n[… text cut at ${max} characters]` : t.text;
  return `${t.title ? `# ${t.title}\n` : ""}${text}`;
}

/** A screenshot larger than this is taken again as a JPEG: what the model and a channel get stays bounded. */
export const SCREENSHOT_MAX_BYTES = 1024 * 1024;

/** A screenshot of the viewport, kept in the blob store (PNG, or JPEG when the PNG is over SCREENSHOT_MAX_BYTES). */
export async function screenshot(tenantId: string, page: Page, blobs: BlobStore): Promise<Attachment> {
  const png = await page.screenshot({ type: "png" });
  if (png.byteLength <= SCREENSHOT_MAX_BYTES)
    return blobs.put(tenantId, png, { mime: "image/png", name: "screenshot.png", source: "browser" });
  const jpeg = await page.screenshot({ type: "jpeg", quality: 60 });
  return blobs.put(tenantId, jpeg, { mime: "image/jpeg", name: "screenshot.jpg", source: "browser" });
}

export const savedNote = (a: Attachment) =>
  `Screenshot saved: ${a.id} (${a.mime}, ${a.size} bytes); send_file sends it to the person`;

/** Clicks a ref that starts a download, and keeps the file in the blob store: stopped as soon as it passes the limit. */
export async function download(
  tenantId: string,
  page: Page,
  ref: string,
  blobs: BlobStore,
  maxBytes: number,
): Promise<string> {
  const loc = await byRef(page, ref);
  const [dl] = await Promise.all([page.waitForEvent("download"), loc.click()]);
  const over = await watchSize(dl, maxBytes);
  if (over !== null) {
    await dl.cancel().catch(() => {});
    await dl.delete().catch(() => {});
    throw new BrowserError(
      "limit",
      `the download passed the limit of ${maxBytes} bytes (${over} so far) and was stopped`,
    );
  }
  const failure = await dl.failure();
  if (failure) throw new BrowserError("failed", `the download failed: ${failure}`);
  const path = await dl.path();
  // The watch above reads where Chromium writes; should that ever be unknown, the size is checked here.
  const size = (await stat(path)).size;
  if (size > maxBytes) {
    await dl.delete().catch(() => {});
    throw new BrowserError("limit", `the download is ${size} bytes, over the limit of ${maxBytes}`);
  }
  const data = await readFile(path);
  await dl.delete().catch(() => {});
  const name = dl.suggestedFilename().slice(0, 200);
  const a = await blobs.put(tenantId, data, { mime: mimeOf(name), name, source: "browser" });
  return `Downloaded ${name}: ${a.id} (${a.mime}, ${a.size} bytes)`;
}

/**
 * Follows a download's size while Chromium writes it (`<path>.crdownload`, then `<path>`), every 50 ms:
 * the size it passed `max` at, or null once it is finished within the limit. The path is the pinned
 * playwright-core's artifact path (browser-limits.test.ts fails if a new version moves it).
 */
async function watchSize(dl: Download, max: number): Promise<number | null> {
  const path = (dl as unknown as { _artifact?: { _initializer?: { absolutePath?: unknown } } })._artifact?._initializer
    ?.absolutePath;
  if (typeof path !== "string") return null;
  let finished = false;
  const end = dl.path().then(
    () => (finished = true),
    () => (finished = true),
  );
  for (;;) {
    const size = Math.max(await sizeOf(`${path}.crdownload`), await sizeOf(path));
    if (size > max) return size;
    if (finished) return null;
    await Promise.race([end, new Promise((r) => setTimeout(r, 50))]);
  }
}

const sizeOf = (p: string) =>
  stat(p).then(
    (s) => s.size,
    () => 0,
  );

/** Sets a file input from a blob of the tenant. */
export async function upload(
  tenantId: string,
  page: Page,
  ref: string,
  blobId: string,
  blobs: BlobStore,
): Promise<string> {
  const blob = await blobs.get(tenantId, blobId);
  if (!blob) throw new BrowserError("stale", `this tenant has no file ${JSON.stringify(blobId.slice(0, 60))}`);
  const loc = await byRef(page, ref);
  await loc.setInputFiles({
    name: blob.attachment.name ?? blobId,
    mimeType: blob.attachment.mime,
    buffer: Buffer.from(blob.data),
  });
  return `Chose ${blob.attachment.name ?? blobId} (${blob.attachment.size} bytes)`;
}

const MIME: Record<string, string> = {
  pdf: "application/pdf",
  txt: "text/plain",
  csv: "text/csv",
  json: "application/json",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  zip: "application/zip",
  html: "text/html",
  xml: "application/xml",
};

function mimeOf(name: string): string {
  return MIME[/\.([a-z0-9]{1,5})$/i.exec(name)?.[1]?.toLowerCase() ?? ""] ?? "application/octet-stream";
}

/**
 * Runs an action that may load something (a click, Enter in a form) and waits until what it started is
 * done: the requests it made have finished (at most `maxMs`), and a navigation it began has reached
 * DOMContentLoaded. The step's state is saved after this, so a login's cookie is in it.
 */
export async function settle<T>(page: Page, action: () => Promise<T>, maxMs = 5_000): Promise<T> {
  const pending = new Set<Request>();
  let navigating = false;
  const onRequest = (r: Request) => {
    pending.add(r);
    if (r.isNavigationRequest() && r.frame() === page.mainFrame()) navigating = true;
  };
  const onEnd = (r: Request) => void pending.delete(r);
  page.on("request", onRequest);
  page.on("requestfinished", onEnd);
  page.on("requestfailed", onEnd);
  try {
    const out = await action();
    // What the action starts is reported a moment after it returns: a round trip to the page first.
    await page.evaluate(() => 0).catch(() => {});
    const deadline = Date.now() + maxMs;
    while (pending.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    if (navigating)
      await page
        .waitForLoadState("domcontentloaded", { timeout: Math.max(1_000, deadline - Date.now()) })
        .catch(() => {});
    return out;
  } finally {
    page.off("request", onRequest);
    page.off("requestfinished", onEnd);
    page.off("requestfailed", onEnd);
  }
}
