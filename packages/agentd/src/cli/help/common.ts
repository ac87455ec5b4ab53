// What several commands' help shares: the common options and the settings of the store and servers.
import { envHelp } from "../../config/docs.ts";

export const DATA = `  --data <dir>          the data folder: SQLite files, master key, admin token
                        (default: ./data, or $AGENTD_DATA)
  -h, --help            show this help`;

export const STORE_ENV = envHelp(["store"]);

export const ALL_SERVER = envHelp([
  "store",
  "server",
  "model",
  "agent",
  "web tools",
  "media",
  "sandbox",
  "mcp",
  "connections",
  "vault",
  "telegram",
  "twilio",
  "whatsapp",
]);

export const JSON_LINE = `  --json                a listing as JSON, as the API answers it (times in epoch milliseconds)`;
