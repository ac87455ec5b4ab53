import { AgentdError } from "../errors.ts";

/** Why an address is refused: a range (private, loopback, …) or a cloud metadata service. */
export type BlockReason = { kind: "range"; range: string; why: string } | { kind: "metadata"; why: string };

/**
 * An outgoing request refused because its host is, or resolves to, an address inside the network
 * (SSRF). The message names the host, the address and why, and how an operator can allow it.
 */
export class BlockedAddressError extends AgentdError<"blocked_address"> {
  readonly host: string;
  readonly address: string;
  readonly reason: BlockReason;

  constructor(host: string, port: number, address: string, reason: BlockReason) {
    const where = host === address ? `${address} is ${reason.why}` : `${host} resolves to ${address}, ${reason.why}`;
    const allow =
      reason.kind === "metadata"
        ? `an operator can allow this host explicitly with AGENTD_ALLOW_HOSTS=${hostKey(host, port)} (AGENTD_ALLOW_PRIVATE_NET does not open metadata services)`
        : `an operator can allow it with the setting AGENTD_ALLOW_PRIVATE_NET=1 (all private addresses) or AGENTD_ALLOW_HOSTS=${hostKey(host, port)}`;
    super(
      "blocked_address",
      `request to ${host} refused: ${where}; requests inside the network are blocked to protect internal services; ${allow}.`,
    );
    this.host = host;
    this.address = address;
    this.reason = reason;
  }
}

/** What went wrong with a request that was allowed: the URL, DNS, the connection, the deadline, redirects. */
export type NetErrorCode = "bad_url" | "dns" | "network" | "timeout" | "too_many_redirects" | "bad_response";

/** The network or the peer failed (as opposed to a refusal by our guard). Timeouts and network errors are worth a retry. */
export class NetError extends AgentdError<NetErrorCode> {
  readonly url: string;

  constructor(code: NetErrorCode, url: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.url = url;
  }

  get retryable(): boolean {
    return this.code === "timeout" || this.code === "network" || this.code === "dns";
  }
}

/** `host:port` as AGENTD_ALLOW_HOSTS lists it (IPv6 in brackets). */
export function hostKey(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}
