import { accessSync, constants } from "node:fs";

/**
 * The Chromium majors the pinned playwright-core (1.64.1) speaks to: it bundles Chromium 156, the
 * major of Debian's (bookworm-security 156.0.8078) at the time of pinning, and is tested against the
 * stable before it, 155. A Chromium outside this range may speak a protocol playwright-core does not
 * know: the smoke test and `agentd doctor` say so. When Debian moves on, pin the playwright-core whose
 * bundled Chromium matches (its package's browsers.json names it) and update this range.
 */
export const VERIFIED_CHROMIUM_MAJORS = [155, 156] as const;

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium"];

/** Debian's Chromium (or AGENTD_CHROMIUM's), or null when none is installed (`apt-get install chromium`). */
export function findChromium(configured?: string): string | null {
  for (const path of configured ? [configured] : CANDIDATES) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // next
    }
  }
  return null;
}

/** Chromium refuses its sandbox to root; anywhere else the sandbox stays on (pages are hostile). */
export const canSandbox = () => typeof process.getuid !== "function" || process.getuid() !== 0;
