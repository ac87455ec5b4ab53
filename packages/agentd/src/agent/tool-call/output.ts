import type { OfferedTool } from "../../tools/types.ts";
import type { Redactor } from "../../vault/redact.ts";
import { fenceUntrusted } from "../prompt.ts";

const DEFAULT_MAX_CHARS = 8_000;

/** What a tool returned, as text, on its way to the journal and the model. */
export interface ToolOutput {
  tool: OfferedTool;
  /** False when the tool failed: its text is the error, an answer for the model. */
  ok: boolean;
  /** Every value of the tenant's vault, read when the call started. */
  redactor: Redactor;
}

/** A stage of a tool's output, inside the tool's step: nothing it removes ever reaches the journal. */
export interface OutputStage {
  readonly name: string;
  apply(text: string, out: ToolOutput): string;
}

/** Every vault value, in whatever form the tool echoed it, becomes [secret]. */
export const redact: OutputStage = { name: "redact", apply: (text, { redactor }) => redactor.text(text) };

/** The tool's limit (default 8,000 characters), with a note saying how much more there was. */
export const cut: OutputStage = {
  name: "cut",
  apply(text, { tool }) {
    const max = tool.maxOutputChars ?? DEFAULT_MAX_CHARS;
    return text.length > max ? `${text.slice(0, max)}\n[cut: ${text.length - max} more characters]` : text;
  },
};

/** Output from outside (pages, API bodies, a tenant's own tools) is marked untrusted in the model's context; a failure is agentd's own text. */
export const fence: OutputStage = {
  name: "fence",
  apply: (text, { tool, ok }) => (tool.untrusted && ok ? fenceUntrusted(tool.name, text) : text),
};

/** In this order: a secret straddling the cut must not leave its head, and the fence is never cut. */
export const OUTPUT_STAGES: readonly OutputStage[] = [redact, cut, fence];
