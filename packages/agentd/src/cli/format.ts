/** Rows as aligned columns under a header; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join("  ")
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join("\n")}\n`;
}

/**
 * A time with its zone: "YYYY-MM-DD HH:MM:SS +01:00" in this machine's zone (TZ), or, given an IANA
 * zone (a schedule's), "YYYY-MM-DD HH:MM:SS Europe/Paris" in that one; "-" for none.
 */
export function time(ms: number | null | undefined, zone?: string): string {
  if (ms === null || ms === undefined) return "-";
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  if (zone !== undefined) {
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat("en-CA", {
        timeZone: zone,
        hourCycle: "h23",
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
      })
        .formatToParts(d)
        .map((x) => [x.type, x.value]),
    );
    return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second} ${zone}`;
  }
  const off = -d.getTimezoneOffset();
  const zoneOffset = `${off < 0 ? "-" : "+"}${p(Math.floor(Math.abs(off) / 60))}:${p(Math.abs(off) % 60)}`;
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${zoneOffset}`;
}

/** A duration in words a person reads at a glance: 850 ms, 4.2 s, 3 min, 2 h. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/** A value on one line, cut to `max` characters. */
export function brief(value: unknown, max = 80): string {
  if (value === null || value === undefined) return "";
  const s = (typeof value === "string" ? value : (JSON.stringify(value) ?? "")).replace(/\s+/g, " ");
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
