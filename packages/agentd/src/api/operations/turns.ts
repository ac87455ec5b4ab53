import { z } from "zod";
import { Decide, ListApprovals } from "../routes/approvals.ts";
import { History, ListSessions, PostMessage, Stream } from "../routes/messages.ts";
import { From, ListRuns } from "../routes/runs.ts";
import { CreateSchedule, Ticks } from "../routes/schedules.ts";
import type { Operation } from "./types.ts";

const Accepted = z.object({
  sessionId: z.string(),
  messageId: z.string(),
  runId: z.string(),
  duplicate: z.boolean().describe("true when a message with the same id was already received"),
});

/** A tenant's conversations and their work: messages, sessions, runs, schedules, approvals. */
export const TURNS: Operation[] = [
  // A tenant's
  {
    method: "post",
    path: "/v1/messages",
    who: "tenant",
    summary: "A person's message: starts a turn (Accept: text/event-stream streams the reply)",
    body: PostMessage,
    query: Stream,
    ok: {
      status: 202,
      description:
        "accepted (or, streamed, event: accepted then the run's events: text, tool, approval, waiting, done)",
      schema: Accepted,
      sse: true,
    },
  },
  {
    method: "get",
    path: "/v1/sessions",
    who: "tenant",
    summary: "Conversations",
    query: ListSessions,
    ok: { status: 200, description: "{ sessions }" },
  },
  {
    method: "get",
    path: "/v1/sessions/:id",
    who: "tenant",
    summary: "One conversation",
    ok: { status: 200, description: "the session" },
  },
  {
    method: "get",
    path: "/v1/sessions/:id/messages",
    who: "tenant",
    summary: "A conversation's messages, oldest first",
    query: History,
    ok: { status: 200, description: "{ messages, next }" },
  },
  {
    method: "get",
    path: "/v1/runs",
    who: "tenant",
    summary: "Runs (turns, reminders, schedules), newest first",
    query: ListRuns,
    ok: { status: 200, description: "{ runs, next }: next is the cursor of the following page (null on the last)" },
  },
  {
    method: "get",
    path: "/v1/runs/:id",
    who: "tenant",
    summary: "One run",
    ok: { status: 200, description: "the run" },
  },
  {
    method: "get",
    path: "/v1/runs/:id/journal",
    who: "tenant",
    summary: "A run's journal, secrets redacted",
    ok: { status: 200, description: "{ runId, journal }" },
  },
  {
    method: "post",
    path: "/v1/runs/:id/retry",
    who: "tenant",
    summary: "Resume a failed run from its last checkpoint",
    ok: { status: 202, description: "the run" },
  },
  {
    method: "post",
    path: "/v1/runs/:id/cancel",
    who: "tenant",
    summary: "Cancel a run and its children",
    ok: { status: 200, description: "{ cancelled }" },
  },
  {
    method: "get",
    path: "/v1/runs/:id/stream",
    who: "tenant",
    summary: "A run's stream (SSE; Last-Event-ID or ?from= resumes)",
    query: From,
    ok: { status: 200, description: "text/event-stream", sse: true },
  },
  {
    method: "get",
    path: "/v1/schedules",
    who: "tenant",
    summary: "Reminders and recurring jobs, with next fire times",
    ok: { status: 200, description: "{ schedules }" },
  },
  {
    method: "post",
    path: "/v1/schedules",
    who: "tenant",
    summary: "A reminder (at, with its UTC offset) or a recurring job (cron, timezone)",
    body: CreateSchedule,
    ok: { status: 201, description: "the schedule" },
  },
  {
    method: "post",
    path: "/v1/schedules/:id/pause",
    who: "tenant",
    summary: "Pause a recurring job (its ticks until it resumes are skipped, with the reason)",
    ok: { status: 200, description: "{ paused: true }" },
  },
  {
    method: "post",
    path: "/v1/schedules/:id/resume",
    who: "tenant",
    summary: "Resume a recurring job from now",
    ok: { status: 200, description: "{ paused: false }" },
  },
  {
    method: "get",
    path: "/v1/schedules/:id/ticks",
    who: "tenant",
    summary: "A recurring job's latest ticks, newest first: started, queued or skipped with the reason",
    query: Ticks,
    ok: { status: 200, description: "{ ticks }" },
  },
  {
    method: "delete",
    path: "/v1/schedules/:id",
    who: "tenant",
    summary: "Cancel a schedule",
    ok: { status: 204, description: "cancelled" },
  },
  {
    method: "get",
    path: "/v1/approvals",
    who: "tenant",
    summary: "Tool calls waiting for a person",
    query: ListApprovals,
    ok: { status: 200, description: "{ approvals }" },
  },
  {
    method: "post",
    path: "/v1/approvals/:id",
    who: "tenant",
    summary: "Decide an approval: once, always or deny",
    body: Decide,
    ok: { status: 200, description: "the approval" },
  },
];
