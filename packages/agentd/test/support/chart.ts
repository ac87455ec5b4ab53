import type { SandboxConfig } from "../../src/sandbox/host.ts";
import { DEFAULT_LIMITS } from "../../src/sandbox/limits.ts";
import { BWRAP } from "../sandbox/rig.ts";

/** The machine's bubblewrap sandbox as the operator would set it, with a 20-second wall clock for a loaded machine. */
export const sandboxConfig = (over: Partial<SandboxConfig> = {}): SandboxConfig => ({
  enabled: true,
  bwrap: BWRAP,
  allowUnsandboxed: false,
  limits: { ...DEFAULT_LIMITS, wallMs: 20_000 },
  workspaceBytes: 64 * 1024 * 1024,
  ...over,
});

/**
 * Python that draws a bar chart of 3 1 4 1 5 as a PNG by hand (no matplotlib on a bare machine) into
 * chart.png, and prints the sum and the maximum as JSON: the image is what reaches the person.
 */
export const CHART_PY = `
import json, struct, zlib
values = [3, 1, 4, 1, 5]
w, h = 50, 30
rows = b"".join(b"\\x00" + bytes(0 if y >= h - values[x // 10] * 6 else 255 for x in range(w)) for y in range(h))
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
png = b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
open("chart.png", "wb").write(png)
print(json.dumps({"sum": sum(values), "max": max(values)}))
`;
