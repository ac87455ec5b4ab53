/** What a tenant's webhook can be sent: a turn answered, a tool call waiting for a person, a run that failed. */
export const WEBHOOK_EVENTS = ["turn.finished", "approval.needed", "run.failed"] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
