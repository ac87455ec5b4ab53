import type * as Oidc from "openid-client";

let lib: typeof Oidc | null = null;

/** openid-client (and jose), loaded on first use: a process that never connects an app does not load them. */
export async function oidcLib(): Promise<typeof Oidc> {
  lib ??= await import("openid-client");
  return lib;
}

/** openid-client when something loaded it already: an error of its classes can only come after a call through it. */
export const loadedOidc = (): typeof Oidc | null => lib;
