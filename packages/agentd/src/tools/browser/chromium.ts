import { accessSync, constants } from "node:fs";

/**
 * The Chromium majors the pinned playwright-core (1.62.1) speaks to: it bundles Chromium 151 and is
 * tested against stable 150, Debian's (bookworm-security) at the time of pinning. A Chromium outside
 * this range may speak a protocol playwright-core does not know: the smoke test says so.
 */
export const VERIFIED_CHROMIUM_MAJORS = [150, 151] as const;

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
