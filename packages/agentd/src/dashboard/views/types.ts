/** What the API answers, as far as the pages read it. */
export interface RunView {
  id: string;
  workflow: string;
  status: string;
  key: string | null;
  input: unknown;
  output: unknown;
  error: { name?: string; message?: string; code?: string } | null;
  parentId: string | null;
  waiting: { events: string[]; children: string[] } | null;
  wakeAt: number | null;
  queued: boolean;
  generation: number;
  createdAt: number;
  updatedAt: number;
  completedAt: number | null;
}

export interface EntryView {
  seq: number;
  kind: string;
  name: string;
  status: string;
  attempt: number;
  wakeAt: number | null;
  value: unknown;
  error: { name?: string; message?: string } | null;
  ref: string | null;
  startedAt: number;
  updatedAt: number;
}

export const STATUSES = ["pending", "running", "suspended", "completed", "failed", "cancelled"] as const;
export const ENDED = new Set(["completed", "failed", "cancelled"]);
