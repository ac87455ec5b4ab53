const BLOCKED = Symbol.for("agentd.net.BlockedAddressError");
const NET = Symbol.for("agentd.net.NetError");

/** Why an address is refused: a range (private, loopback, …) or a cloud metadata service. */
export type BlockReason = { kind: "range"; range: string; why: string } | { kind: "metadata"; why: string };

/**
 * An outgoing request refused because its host is, or resolves to, an address inside the network
 * (SSRF). The message names the host, the address and why, and how an operator can allow it.
 */
export class BlockedAddressError extends Error {
  readonly code = "blocked_address";
  readonly host: string;
  readonly address: string;
  readonly reason: BlockReason;
  readonly [BLOCKED] = true;

  constructor(host: string, port: number, address: string, reason: BlockReason) {
    const where = host === address ? `${address} is ${reason.why}` : `${host} resolves to ${address}, ${reason.why}`;
    const allow =
      reason.kind === "metadata"
        ? `an operator can allow this host explicitly with AGENTD_ALLOW_HOSTS=${hostKey(host, port)} (AGENTD_ALLOW_PRIVATE_NET does not open metadata services)`
        : `an operator can allow it with the setting AGENTD_ALLOW_PRIVATE_NET=1 (all private addresses) or AGENTD_ALLOW_HOSTS=${hostKey(host, port)}`;
    super(`request to ${host} refused: ${where}; requests inside the network are blocked to protect internal services; ${allow}.`);
    this.name = "BlockedAddressError";
    this.host = host;
    this.address = address;
    this.reason = reason;
  }

  static is(e: unknown): e is BlockedAddressError {
    return typeof e === "object" && e !== null && (e as Record<symbol, unknown>)[BLOCKED] === true;
  }
}

/** What went wrong with a request that was allowed: the URL, DNS, the connection, the deadline, redirects. */
export type NetErrorCode = "bad_url" | "dns" | "network" | "timeout" | "too_many_redirects" | "bad_response";

/** The network or the peer failed (as opposed to a refusal by our guard). Timeouts and network errors are worth a retry. */
export class NetError extends Error {
  readonly code: NetErrorCode;
  readonly url: string;
  readonly [NET] = true;

  constructor(code: NetErrorCode, url: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "NetError";
    this.code = code;
    this.url = url;
  }

  get retryable(): boolean {
    return this.code === "timeout" || this.code === "network" || this.code === "dns";
  }

  static is(e: unknown): e is NetError {
    return typeof e === "object" && e !== null && (e as Record<symbol, unknown>)[NET] === true;
  }
}

/** `host:port` as AGENTD_ALLOW_HOSTS lists it (IPv6 in brackets). */
export function hostKey(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}
