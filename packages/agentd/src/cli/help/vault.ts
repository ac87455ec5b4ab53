// `agentd vault`.
import { envHelp } from "../../config/docs.ts";
import { DATA } from "./common.ts";

export const VAULT_HELP = `Usage: agentd vault rotate [<newKey>]

Rotates the vault's master key: writes a new key ahead of the old one in <data>/master.key,
re-encrypts every secret under it (progress shown), then retires the old key. Running agentd
processes pick up the new key by themselves. Safe to run again if interrupted.

With AGENTD_MASTER_KEY set there is no file to rewrite: given <newKey> (32 bytes as base64 or hex)
it re-encrypts every secret under that key, and with AGENTD_MASTER_KEY_PREVIOUS it finishes a
rotation; with neither it prints the steps of a rotation without downtime.

Options:
${DATA}

Environment:
${envHelp(["store", "vault"])}
`;
