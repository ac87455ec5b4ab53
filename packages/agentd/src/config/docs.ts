import { catalogue, type Section, type VariableName } from "./variables.ts";

// The settings' documentation, drawn from the one schema: `--help` shows sections of it, the README
// holds the whole table (a test keeps it current), and `agentd doctor` names what is set.

const WIDTH = 100;
const NAME_COLUMN = 24;

const withDefault = (doc: string, def: string | undefined) => (def ? `${doc} (default: ${def})` : doc);

/** The variables of these sections (or named) as `--help` lines: the name, then its documentation wrapped beside it. */
export function envHelp(select: (Section | VariableName)[]): string {
  const lines: string[] = [];
  for (const v of catalogue().filter((x) => select.includes(x.section) || select.includes(x.name))) {
    const words = withDefault(v.doc, v.default).split(" ");
    let line = `  ${v.name.padEnd(NAME_COLUMN - 3)} `;
    if (line.length > NAME_COLUMN) {
      lines.push(`  ${v.name}`);
      line = " ".repeat(NAME_COLUMN);
    }
    for (const w of words) {
      if (line.length + w.length + 1 > WIDTH && line.trim() !== "") {
        lines.push(line.trimEnd());
        line = " ".repeat(NAME_COLUMN);
      }
      line += `${w} `;
    }
    lines.push(line.trimEnd());
  }
  return lines.join("\n");
}

const TITLES: Record<Section, string> = {
  store: "Store",
  server: "Server",
  model: "Model",
  agent: "Agent",
  "web tools": "Web tools",
  media: "Media (voice notes, documents, spoken replies)",
  sandbox: "Sandbox (run_code)",
  mcp: "MCP servers",
  connections: "Connections (OAuth apps, Composio)",
  vault: "Vault",
  telegram: "Telegram",
  twilio: "Twilio (SMS, WhatsApp)",
  whatsapp: "WhatsApp (Meta's Cloud API)",
  serverless: "Serverless (`createAgentdHandler`)",
  client: "Clients (`agentd chat`, `agentd bots`)",
};

/** The README's settings table: every variable, its default and what it does. */
export function envMarkdown(): string {
  const rows = catalogue().map(
    (v) =>
      `| ${TITLES[v.section]} | \`${v.name}\` | ${v.default ? `\`${v.default}\`` : ""} | ${v.doc.replace(/\|/g, "\\|")} |`,
  );
  return ["| for | variable | default | what it sets |", "| --- | --- | --- | --- |", ...rows].join("\n");
}

/** The names of the variables agentd reads that `env` sets, and the AGENTD_ ones it sets that agentd does not read (typos), with a guess. */
export function envSummary(env: NodeJS.ProcessEnv): {
  set: string[];
  unknown: { name: string; meant: string | null }[];
} {
  const names = catalogue().map((v) => v.name as string);
  const given = Object.keys(env).filter((k) => env[k] !== undefined && env[k] !== "");
  return {
    set: given.filter((k) => names.includes(k)),
    unknown: given
      .filter((k) => k.startsWith("AGENTD_") && !names.includes(k))
      .map((name) => ({ name, meant: closest(name, names) })),
  };
}

/** The known name within two edits of `name`, if any. */
function closest(name: string, names: string[]): string | null {
  let best: string | null = null;
  let bestD = 3;
  for (const n of names) {
    const d = distance(name, n);
    if (d < bestD) [best, bestD] = [n, d];
  }
  return best;
}

function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(
        (prev[j] as number) + 1,
        (cur[j - 1] as number) + 1,
        (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    prev = cur;
  }
  return prev[b.length] as number;
}
