import { ListBlobs, UploadBlob } from "../routes/blobs.ts";
import { AddMemory, ListMemory } from "../routes/memory.ts";
import { Pattern, PutPolicy } from "../routes/policies.ts";
import { PutSecret } from "../routes/secrets.ts";
import { Days } from "../routes/usage.ts";
import type { Operation } from "./types.ts";

/** What a tenant keeps: memory, secrets, policies, usage, files. */
export const DATA: Operation[] = [
  {
    method: "get",
    path: "/v1/memory",
    who: "tenant",
    summary: "Long-term memory, or a search with ?q=",
    query: ListMemory,
    ok: { status: 200, description: "{ memories }" },
  },
  {
    method: "post",
    path: "/v1/memory",
    who: "tenant",
    summary: "Remember something",
    body: AddMemory,
    ok: { status: 201, description: "the memory" },
  },
  {
    method: "delete",
    path: "/v1/memory/:id",
    who: "tenant",
    summary: "Forget a memory",
    ok: { status: 204, description: "forgotten" },
  },
  {
    method: "get",
    path: "/v1/secrets",
    who: "tenant",
    summary: "The vault's secret names (never values)",
    ok: { status: 200, description: "{ secrets }" },
  },
  {
    method: "put",
    path: "/v1/secrets/:name",
    who: "tenant",
    summary: "Store a secret (encrypted; tools get it at call time)",
    body: PutSecret,
    ok: { status: 204, description: "stored" },
  },
  {
    method: "delete",
    path: "/v1/secrets/:name",
    who: "tenant",
    summary: "Delete a secret",
    ok: { status: 204, description: "deleted" },
  },
  {
    method: "get",
    path: "/v1/policies",
    who: "tenant",
    summary: "Tool policies and the tools",
    ok: { status: 200, description: "{ policies, tools }" },
  },
  {
    method: "put",
    path: "/v1/policies",
    who: "tenant",
    summary: "Set a policy: allow, ask or deny a tool (for a pattern)",
    body: PutPolicy,
    ok: { status: 200, description: "the policy" },
  },
  {
    method: "delete",
    path: "/v1/policies/:tool",
    who: "tenant",
    summary: "Remove a tool's policy (for a pattern)",
    query: Pattern,
    ok: { status: 204, description: "removed" },
  },
  {
    method: "get",
    path: "/v1/usage",
    who: "tenant",
    summary: "Tokens and model calls per day, and the budget left",
    query: Days,
    ok: { status: 200, description: "{ today, dailyTokenBudget, remainingToday, days }" },
  },
  {
    method: "get",
    path: "/v1/blobs",
    who: "tenant",
    summary: "Media people sent",
    query: ListBlobs,
    ok: { status: 200, description: "{ blobs }" },
  },
  {
    method: "post",
    path: "/v1/blobs",
    who: "tenant",
    summary: "Upload a file to attach to a message (the body is the file, its type the Content-Type)",
    query: UploadBlob,
    ok: { status: 201, description: "the attachment: { id, kind, mime, size, name }" },
  },
  {
    method: "get",
    path: "/v1/blobs/:id",
    who: "tenant",
    summary: "One media file's bytes",
    ok: { status: 200, description: "the file, with its content type" },
  },
];
