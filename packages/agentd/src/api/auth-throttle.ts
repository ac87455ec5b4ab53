import ipaddr from "ipaddr.js";

export interface AuthThrottleOptions {
  /** Failed attempts a source may make within `windowMs` before it is refused. */
  maxFailures?: number;
  windowMs?: number;
  /** How long a source is refused after that; doubled for each further block, up to `maxBlockMs`. */
  blockMs?: number;
  maxBlockMs?: number;
  /** Authentications of one source being checked at once: beyond that, 429 (so a burst cannot fit many guesses in before the first failure counts). */
  maxInFlight?: number;
  /** Sources remembered at most: the least recently seen is forgotten first, so a flood from many addresses cannot grow memory. */
  maxSources?: number;
}

interface Source {
  failures: number;
  windowStart: number;
  blockedUntil: number;
  /** Blocks so far: each one lasts twice the previous. */
  blocks: number;
  inFlight: number;
}

/**
 * Failed authentication per source address: after `maxFailures` failures in a window the source is
 * refused (429 with Retry-After) before its token is even looked at, so guessing costs time.
 * IPv6 addresses count by /64, the block one machine usually holds. A success does not reset the
 * count: a tenant's valid key must not buy fresh guesses at the admin token.
 */
export class AuthThrottle {
  readonly #sources = new Map<string, Source>();
  readonly #o: Required<AuthThrottleOptions>;

  constructor(o: AuthThrottleOptions = {}) {
    this.#o = {
      maxFailures: 10,
      windowMs: 60_000,
      blockMs: 60_000,
      maxBlockMs: 3_600_000,
      maxInFlight: 32,
      maxSources: 10_000,
      ...o,
    };
  }

  /** Milliseconds until `address` may try again; 0 when it may now. */
  retryAfter(address: string, now: number): number {
    const s = this.#sources.get(sourceKey(address));
    return s && s.blockedUntil > now ? s.blockedUntil - now : 0;
  }

  /**
   * Starts checking a token from `address`: `wait` > 0 when it must be refused now (blocked, or too
   * many checks of it in flight); otherwise call `end` with whether the token was wrong.
   */
  begin(address: string, now: number): { wait: number; busy?: true; end(failed: boolean, at: number): void } {
    const key = sourceKey(address);
    const s = this.#touch(key, now);
    if (s.blockedUntil > now) return { wait: s.blockedUntil - now, end: () => {} };
    if (s.inFlight >= this.#o.maxInFlight) return { wait: 1000, busy: true, end: () => {} };
    s.inFlight += 1;
    let ended = false;
    return {
      wait: 0,
      end: (failed, at) => {
        if (ended) return;
        ended = true;
        s.inFlight -= 1;
        if (failed) this.fail(address, at);
      },
    };
  }

  /** Counts a failed attempt; returns the milliseconds the source is now refused for (0: not yet). */
  fail(address: string, now: number): number {
    const s = this.#touch(sourceKey(address), now);
    s.failures += 1;
    if (s.failures >= this.#o.maxFailures) {
      s.blockedUntil = now + Math.min(this.#o.maxBlockMs, this.#o.blockMs * 2 ** s.blocks);
      s.blocks += 1;
      s.failures = 0;
      s.windowStart = now;
    }
    return s.blockedUntil > now ? s.blockedUntil - now : 0;
  }

  /** The source's record, its window renewed when over, moved last (the map's order is least recently seen first). */
  #touch(key: string, now: number): Source {
    let s = this.#sources.get(key);
    if (!s) s = { failures: 0, windowStart: now, blockedUntil: 0, blocks: 0, inFlight: 0 };
    else if (now - s.windowStart >= this.#o.windowMs) {
      s.failures = 0;
      s.windowStart = now;
    }
    this.#sources.delete(key);
    this.#sources.set(key, s);
    while (this.#sources.size > this.#o.maxSources) this.#sources.delete(this.#sources.keys().next().value as string);
    return s;
  }

  get size(): number {
    return this.#sources.size;
  }
}

function sourceKey(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const ip = ipaddr.process(address); // ::ffff:1.2.3.4 counts as 1.2.3.4
  if (ip.kind() === "ipv4") return ip.toString();
  return `${(ip as ipaddr.IPv6).parts
    .slice(0, 4)
    .map((p) => p.toString(16))
    .join(":")}::/64`;
}
