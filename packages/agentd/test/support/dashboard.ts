/** The dashboard in Debian's Chromium (playwright-core) against an agentd served on 127.0.0.1. */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { after, before, describe } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { canSandbox, findChromium } from "../../src/tools/browser/chromium.ts";
import type { Backend } from "./backends.ts";

export const chromiumPath = findChromium();
export const skipBrowser = chromiumPath
  ? false
  : "no Chromium installed (apt-get install chromium); dashboard tests skip";

/** Screenshots of each view, for a person to look at (ignored by git). */
export const ARTIFACTS = join(import.meta.dirname, "..", "artifacts", "dashboard");

export async function launch(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({ executablePath: chromiumPath as string, chromiumSandbox: canSandbox(), timeout: 60_000 });
}

/** A fresh browser profile (its own cookies) with a phone or desk viewport. */
export async function context(browser: Browser, size: "desk" | "phone" = "desk"): Promise<BrowserContext> {
  return browser.newContext(
    size === "phone"
      ? { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }
      : { viewport: { width: 1280, height: 900 }, timezoneId: "Europe/Paris", locale: "en-GB" },
  );
}

/** Signs in through the form; lands on `next` (the overview by default). */
export async function signIn(page: Page, url: string, token: string, next = "/"): Promise<void> {
  await page.goto(`${url}/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel("Token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((u) => u.pathname === next.split("?")[0]);
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/**
 * Whether a test run on `b` judges the markup itself (axe, screenshots). The markup is made by the same code
 * from the same rows on every store, and an axe pass costs about a second a page: the sqlite run (on every
 * machine) judges it, the Postgres run checks what it shows.
 */
export const judgesMarkup = (b: Backend | undefined): boolean => b === undefined || b.name === "sqlite";

/**
 * axe-core run in the page (added through the devtools protocol, not a script tag: the CSP allows none).
 * Given a backend, only on the one that judges the markup.
 */
export async function assertAccessible(page: Page, what: string, b?: Backend): Promise<void> {
  if (!judgesMarkup(b)) return;
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: AxeViolation[] }> } }).axe;
    return (await axe.run()).violations;
  });
  const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    bad.map((v) => `${v.id} (${v.impact}): ${v.help} at ${JSON.stringify(v.nodes.slice(0, 3).map((n) => n.target))}`),
    [],
    `${what}: serious or critical accessibility violations`,
  );
}

export async function screenshot(page: Page, name: string, b?: Backend): Promise<string | null> {
  if (!judgesMarkup(b)) return null;
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Console errors and CSP refusals the page reported: a dashboard page has none. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  // Answers the tests ask for (404, 403) show as failed loads: those are the tests' to check, not errors here.
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(m.text());
  });
  page.on("response", (r) => {
    if (r.status() === 400 || r.status() >= 500) errors.push(`${r.status()} ${r.request().method()} ${r.url()}`);
  });
  page.on("pageerror", (e) => errors.push(e.message));
  return errors;
}

/**
 * A suite with one Chromium for its tests (skipped, with the reason, where there is none): `body`
 * declares the tests and reaches the browser through `browser()` once they run.
 */
export function withBrowser(name: string, body: (browser: () => Browser) => void): void {
  describe(name, { skip: skipBrowser }, () => {
    let browser: Browser;
    before(async () => {
      browser = await launch();
    });
    after(() => browser?.close());
    body(() => browser);
  });
}

/** A fresh profile signed in with `token` on `next`, closed after the test; its errors are collected. */
export async function signedInPage(
  t: { after(fn: () => unknown): void },
  browser: Browser,
  url: string,
  token: string,
  next = "/",
): Promise<{ page: Page; errors: string[] }> {
  const ctx = await context(browser);
  t.after(() => ctx.close());
  const page = await ctx.newPage();
  const errors = watchErrors(page);
  await signIn(page, url, token, next);
  return { page, errors };
}
