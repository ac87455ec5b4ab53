import type { Operation } from "./types.ts";

/** A tenant's accounts at Composio (src/composio) and the page Composio sends the person back to. */
export const COMPOSIO: Operation[] = [
  {
    method: "get",
    path: "/composio/callback",
    who: "public",
    summary: "Where Composio sends the person back: once Composio says the account is ACTIVE, wakes the waiting run",
    ok: { status: 200, description: "an HTML page saying whether the toolkit is connected" },
  },
  {
    method: "get",
    path: "/v1/composio/accounts",
    who: "tenant",
    summary: "The tenant's accounts at Composio (toolkit, status, id; never their credentials), or enabled: false",
    ok: { status: 200, description: "{ enabled, accounts }" },
  },
  {
    method: "post",
    path: "/v1/composio/accounts/:toolkit/connect",
    who: "tenant",
    summary: "A Composio Connect Link for a toolkit, for the person to open",
    ok: { status: 200, description: "{ url }" },
  },
  {
    method: "delete",
    path: "/v1/composio/accounts/:id",
    who: "tenant",
    summary: "Remove one of the tenant's Composio accounts (Composio revokes its tokens)",
    ok: { status: 200, description: "{ removed }" },
  },
];
