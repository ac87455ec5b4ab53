/**
 * Which addresses outgoing requests (web_fetch, http_request, every tool that reaches the network)
 * may reach: the operator's setting (AGENTD_ALLOW_PRIVATE_NET, AGENTD_ALLOW_HOSTS), enforced by
 * `guardedFetch` (guard.ts) on every connection, redirects included.
 */
export interface NetPolicy {
  /** Private, loopback, link-local and metadata addresses are refused unless this is true (an operator setting). */
  allowPrivate: boolean;
  /** Hosts reachable even when private (e.g. "127.0.0.1:8080"); for tests and operators with internal services. */
  allowHosts: readonly string[];
}
