import { SessionEventsQuery } from "../../push/session-events.ts";
import { AddWebhook, ListDeliveries } from "../../webhooks/routes.ts";
import type { Operation } from "./types.ts";

/** Push (src/push): a session's messages as they are stored, and the tenant's signed webhooks. */
export const PUSH: Operation[] = [
  {
    method: "get",
    path: "/v1/sessions/:id/events",
    who: "tenant",
    summary:
      "A session's messages as Server-Sent Events while they are stored (replies, reminders' and schedules' results); resumable with Last-Event-ID",
    query: SessionEventsQuery,
    ok: {
      status: 200,
      description:
        "event: ready, then event: message with id: <seq> and the message (seq, id, role, content, runId, createdAt)",
      sse: true,
    },
  },
  {
    method: "get",
    path: "/v1/webhooks",
    who: "tenant",
    summary: "The tenant's outgoing webhooks (URL and events; never the signing secret)",
    ok: { status: 200, description: "{ webhooks: [{ id, url, events, createdAt }] }" },
  },
  {
    method: "post",
    path: "/v1/webhooks",
    who: "tenant",
    summary:
      "Add a webhook: turn.finished, approval.needed and run.failed posted to the URL, signed (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature), retried with backoff",
    body: AddWebhook,
    ok: { status: 201, description: "{ webhook, secret }: the signing secret (whsec_…), shown once" },
  },
  {
    method: "delete",
    path: "/v1/webhooks/:id",
    who: "tenant",
    summary: "Remove a webhook (its secret and deliveries with it)",
    ok: { status: 204, description: "removed" },
  },
  {
    method: "get",
    path: "/v1/webhooks/:id/deliveries",
    who: "tenant",
    summary:
      "A webhook's deliveries, newest first: event, payload, status (pending, delivered, failed), attempts, last answer",
    query: ListDeliveries,
    ok: { status: 200, description: "{ deliveries }" },
  },
];
