/**
 * Tools offered on demand. Every tool definition goes with every model call, so a first "Hi" with all
 * of agentd's hands would carry ~12 KB of schemas; a tool in a group is offered once the model asks
 * for its group with `load_tools` (tools/load-tools/), or from the start when the tenant's
 * `toolGroups` setting names it. Tools without a group (memory, reminders, search, fetch, files) are
 * always offered. The line after each group is what the model reads when it decides to load it.
 */
export const TOOL_GROUPS = {
  browser: "a real browser: read pages, fill forms, log in, screenshots, downloads",
  ssh: "run commands and move files on the person's own machines over SSH",
  code: "run Python, JavaScript or shell code in a sandbox, with the files and charts it makes",
  apps: "HTTP APIs and connected apps: requests with the person's connections, OAuth apps, MCP servers",
} as const;

export type ToolGroup = keyof typeof TOOL_GROUPS;
export const TOOL_GROUP_IDS = Object.keys(TOOL_GROUPS) as ToolGroup[];
