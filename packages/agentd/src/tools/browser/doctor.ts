import { execFile } from "node:child_process";
import { VERIFIED_CHROMIUM_MAJORS } from "./chromium.ts";

/** `agentd doctor`'s line for the browser tools: which Chromium, and whether the pinned playwright-core was verified with its version. */
export async function checkBrowser(chromium: string | null): Promise<{ name: string; ok: boolean; text: string }> {
  const name = "browser";
  if (!chromium)
    return {
      name,
      ok: true,
      text: "off: no Chromium found (apt-get install chromium) or AGENTD_BROWSER=0; browser and browser_act are not offered",
    };
  const out = await new Promise<string>((ok) =>
    execFile(chromium, ["--version"], { timeout: 15_000 }, (e, stdout) => ok(e ? `error: ${e.message}` : stdout)),
  );
  const version = /(\d+)\.\d+\.\d+\.\d+/.exec(out);
  if (!version)
    return {
      name,
      ok: false,
      text: `${chromium} --version did not say its version (${out.trim().slice(0, 120)}): reinstall chromium or fix AGENTD_CHROMIUM`,
    };
  const major = Number(version[1]);
  const range = VERIFIED_CHROMIUM_MAJORS.join(" or ");
  if (!(VERIFIED_CHROMIUM_MAJORS as readonly number[]).includes(major))
    return {
      name,
      ok: false,
      text: `Chromium ${version[0]} at ${chromium}: this agentd's playwright-core was verified with Chromium ${range}; install that version or an agentd pinned for yours`,
    };
  return {
    name,
    ok: true,
    text: `Chromium ${version[0]} at ${chromium} (verified with this agentd's playwright-core)`,
  };
}
