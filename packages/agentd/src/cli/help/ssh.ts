// `agentd ssh` and its far end, `agentd relay`.
import { DATA, JSON_LINE, STORE_ENV } from "./common.ts";

export const SSH_HELP = `Usage: agentd ssh hosts [list] --tenant <id> [--json]
       agentd ssh hosts add --tenant <id> <name> <user@address[:port]> [--key <name>]
                      [--fingerprint SHA256:…] [--yes] [--tunnel wss://…] [--tunnel-token-stdin]
                      [--idempotent <pattern>]…
       agentd ssh hosts confirm --tenant <id> <name> <SHA256:…>
       agentd ssh hosts remove --tenant <id> <name>
       agentd ssh key --tenant <id> [<name>] [--import-stdin [--passphrase-env <VAR>]]

The machines a tenant's agent runs commands on (the ssh and ssh_file tools). Adding a host reads
the host key it presents and prints its SHA-256 fingerprint: compare it with
\`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\` on the machine and confirm (a terminal asks;
--fingerprint or --yes confirm at once; or \`confirm\` later). Every connection checks the pinned key
and refuses another, naming both. The host is reached with the tenant's key (default "default",
made on first use: ed25519); the public key to install in authorized_keys is printed. Private
keys and passphrases live in the vault only.

  --tunnel <url>          reach the host through a relay (agentd relay, or websockify) over HTTPS
  --tunnel-token-stdin    the relay's token, read from stdin (kept in the vault)
  --idempotent <pattern>  a command pattern (* any run of characters) safe to run again when a
                          worker died while it ran; other commands ask a person first
  --import-stdin          key: import a private key (OpenSSH or PEM) from stdin instead of making one
  --passphrase-env <VAR>  key: the imported key's passphrase, from this environment variable

Options:
  --tenant <id>           the tenant
${JSON_LINE}: the hosts and the public keys
${DATA}

Environment:
${STORE_ENV}
`;

export const RELAY_HELP = `Usage: agentd relay [--listen 127.0.0.1:8022] [--ssh-port 22] [--path /] [--token-file <file>]

The far end of SSH over HTTPS, run next to sshd on a machine reachable only over HTTPS. It accepts
WebSocket tunnels that present a token (Authorization: Bearer) and forwards each to
127.0.0.1:<ssh-port> and nowhere else; anything else is refused. Put it behind your HTTPS reverse
proxy (wss://), and add the host in agentd with --tunnel wss://…/path and the same token. SSH runs
end to end inside the tunnel: the host key is still pinned by agentd.

Options:
  --listen <host:port>    where to accept tunnels (default 127.0.0.1:8022)
  --ssh-port <port>       sshd's port on 127.0.0.1 (default 22)
  --path <path>           the URL path tunnels use (default /)
  --token-file <file>     tokens, one a line (else $AGENTD_RELAY_TOKEN, comma-separated); each 16+ characters
  -h, --help              show this help
`;
