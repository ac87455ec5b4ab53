/** Roles a person acts on: what an interactive-only snapshot keeps (with headings, to say where things are). */
const INTERACTIVE = new Set([
  "button",
  "link",
  "textbox",
  "searchbox",
  "checkbox",
  "radio",
  "combobox",
  "listbox",
  "option",
  "menuitem",
  "menuitemcheckbox",
  "menuitemradio",
  "tab",
  "switch",
  "slider",
  "spinbutton",
  "heading",
  "iframe",
  "dialog",
  "alert",
]);

export interface SnapshotBounds {
  /** The snapshot is cut at a line boundary beyond this many bytes (UTF-8), with a note. */
  maxBytes: number;
  /** Only elements a person acts on (and headings), flattened. */
  interactiveOnly?: boolean;
}

/**
 * An AI aria snapshot (Playwright's YAML with [ref=…]) made to fit the model's context: optionally only
 * the interactive lines, then cut at a line boundary under `maxBytes`, saying how much was left out.
 */
export function boundSnapshot(yaml: string, b: SnapshotBounds): { text: string; bytes: number; cut: boolean } {
  let lines = yaml.split("\n");
  if (b.interactiveOnly) {
    lines = lines
      .map((l) => l.trimStart())
      .filter((l) => {
        const role = /^- ([a-z]+)\b/.exec(l)?.[1];
        return role !== undefined && INTERACTIVE.has(role) && l.includes("[ref=");
      });
  }
  const out: string[] = [];
  let bytes = 0;
  let i = 0;
  for (; i < lines.length; i++) {
    const size = Buffer.byteLength(lines[i]!, "utf8") + 1;
    if (bytes + size > b.maxBytes) break;
    out.push(lines[i]!);
    bytes += size;
  }
  const cut = i < lines.length;
  if (cut)
    out.push(
      `[… ${lines.length - i} more lines cut at ${b.maxBytes} bytes: scroll, or ask for interactive elements only]`,
    );
  const text = out.join("\n");
  return { text, bytes: Buffer.byteLength(text, "utf8"), cut };
}
