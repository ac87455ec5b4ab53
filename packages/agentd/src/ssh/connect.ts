import type { LookupAddress } from "node:dns";
import { createRequire } from "node:module";
import type ssh2 from "ssh2";
import { AgentdError } from "../errors.ts";
import { checkUrl } from "../net/guard.ts";
import type { NetPolicy } from "../net/policy.ts";
import { fingerprintOf, keyTypeOf } from "./keys.ts";

/** Where and how to reach a host; credentials are passed in at call time, never kept. */
export interface Target {
  name: string;
  address: string;
  port: number;
  user: string;
  tunnelUrl: string | null;
}

export interface Credentials {
  privateKey: string;
  passphrase?: string;
  tunnelToken: string | null;
}

export interface ConnectOptions {
  net: NetPolicy;
  timeoutMs?: number;
  signal?: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 15_000;

/** A refused host key: both fingerprints, so a person can tell a re-installed machine from an attack. */
export function mismatch(target: Target, pinned: string, presented: string): AgentdError {
  return new AgentdError(
    "host_key_mismatch",
    `REFUSED: ssh host ${target.name} (${target.address}:${target.port}) presented host key ${presented}, but ${pinned} is pinned. ` +
      "Either the machine was re-installed or someone is in between. Check on the machine (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub); if it changed on purpose, add the host again and confirm the new key.",
  );
}

/** The address the guard allows for a host (loopback and private ranges only when the operator allows them). */
async function checkedAddress(target: Target, net: NetPolicy, signal?: AbortSignal): Promise<LookupAddress> {
  const host = target.address.includes(":") ? `[${target.address}]` : target.address;
  const checked = await checkUrl(`http://${host}:${target.port}/`, net, signal ? { signal } : {});
  return checked.addresses[0] as LookupAddress;
}

/**
 * An authenticated connection whose host key is the pinned one. ssh2 calls `hostVerifier` before
 * authenticating: a different key ends the handshake there, so no credential is ever offered to it.
 */
export async function connect(
  target: Target,
  pinned: string,
  creds: Credentials,
  o: ConnectOptions,
): Promise<ssh2.Client> {
  let presented: string | null = null;
  return handshake(target, creds, o, (key) => {
    presented = fingerprintOf(key);
    return presented === pinned;
  }).catch((e: unknown) => {
    if (presented !== null && presented !== pinned) throw mismatch(target, pinned, presented);
    throw e;
  });
}

/** The host key a host presents (its fingerprint and type), read without authenticating: what a person confirms when adding it. */
export async function scanHostKey(
  target: Target,
  tunnelToken: string | null,
  o: ConnectOptions,
): Promise<{ fingerprint: string; type: string }> {
  let seen: { fingerprint: string; type: string } | null = null;
  await handshake(target, { privateKey: "", tunnelToken }, o, (key) => {
    seen = { fingerprint: fingerprintOf(key), type: keyTypeOf(key) };
    return false; // read and refused: nothing is sent to a host no one has confirmed yet
  }).then(
    (c) => c.end(),
    (e: unknown) => {
      if (seen === null) throw e;
    },
  );
  if (seen === null) throw new AgentdError("ssh_failed", `ssh host ${target.name} presented no host key`);
  return seen;
}

async function handshake(
  target: Target,
  creds: Credentials,
  o: ConnectOptions,
  verify: (key: Buffer) => boolean,
): Promise<ssh2.Client> {
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const where = target.tunnelUrl
    ? {
        // The tunnel (and ws) is loaded only for a host reached through one.
        sock: await (await import("./tunnel.ts")).openTunnel(target.tunnelUrl, creds.tunnelToken, o.net, {
          timeoutMs,
          ...(o.signal ? { signal: o.signal } : {}),
        }),
      }
    : { host: (await checkedAddress(target, o.net, o.signal)).address, port: target.port };
  // Loaded on the first connection, not with agentd (a function's cold start does not pay for SSH).
  const client = new (createRequire(import.meta.url)("ssh2") as typeof ssh2).Client();
  return new Promise((resolve, reject) => {
    const fail = (e: Error) => {
      client.end();
      reject(
        AgentdError.is(e)
          ? e
          : new AgentdError("ssh_failed", `ssh host ${target.name} (${target.address}:${target.port}): ${e.message}`),
      );
    };
    const onAbort = () => fail(new Error("stopped"));
    o.signal?.addEventListener("abort", onAbort, { once: true });
    client.once("ready", () => {
      o.signal?.removeEventListener("abort", onAbort);
      resolve(client);
    });
    client.on("error", fail); // kept: a later error on a pooled connection must not go unhandled
    client.once("close", () => fail(new Error("the connection closed during the handshake")));
    client.connect({
      ...where,
      username: target.user,
      ...(creds.privateKey ? { privateKey: creds.privateKey } : {}),
      ...(creds.passphrase ? { passphrase: creds.passphrase } : {}),
      hostVerifier: verify,
      readyTimeout: timeoutMs,
      keepaliveInterval: 15_000,
      // No agent, no password, no keyboard-interactive: the tenant's key or nothing.
      tryKeyboard: false,
    });
  });
}
