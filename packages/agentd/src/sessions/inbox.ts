import type { Kernel, Workflow } from "@agentd/kernel";
import type { TurnInput, TurnOutput } from "../agent/turn-input.ts";
import type { Attachment } from "../blobs/types.ts";
import type { Db } from "../db/index.ts";
import type { Tenants } from "../tenancy/tenants.ts";
import { openAndAppend, openAndAppendAdmitted } from "./receive.ts";
import { type Message, type Session, sessions } from "./store.ts";

export interface Received {
  session: Session;
  message: Message;
  /** The turn answering this message. */
  runId: string;
  /** True when the same source key arrived before (a redelivery): no second turn. */
  duplicate: boolean;
}

/** What an identity's message led to: a turn, a pairing, or instructions for someone unknown. */
export type IdentityOutcome =
  | { kind: "turn"; tenantId: string; received: Received }
  | { kind: "paired"; tenantId: string; reply: string }
  | { kind: "unpaired"; reply: string };

/** A message of a channel identity (a Telegram user, a phone number), as channels hand it to the inbox. */
export interface IdentityMessage {
  channel: string;
  externalId: string;
  conversation: string;
  text: string;
  /** The provider's id of the message: a redelivery with the same key is found, not stored twice. */
  sourceKey: string;
  display?: string;
  attachments?: Attachment[];
}

/** A pairing message: `/start CODE` (Telegram's deep-link form) or `pair CODE`; the code is group 1. */
export const PAIRING = /^\s*(?:\/start|pair)\s+([A-Za-z0-9]{6,12})\s*$/i;

export const UNPAIRED_REPLY =
  "Hi! This assistant only talks to people it knows. Ask its operator for a pairing code and send it here as: /start CODE";

/**
 * The way in for every message: persisted first (deduplicated by its source key), then a turn is
 * started for it. A crash between the two is repaired on boot by `recover`.
 */
export class Inbox {
  readonly #db: Db;
  readonly #tenants: Tenants;
  readonly #kernel: Kernel;
  readonly #turn: Workflow<TurnInput, TurnOutput>;
  readonly #now: () => number;
  readonly #recording = new Set<Promise<void>>();

  constructor(
    db: Db,
    tenants: Tenants,
    kernel: Kernel,
    turn: Workflow<TurnInput, TurnOutput>,
    now: () => number = Date.now,
  ) {
    this.#db = db;
    this.#tenants = tenants;
    this.#kernel = kernel;
    this.#turn = turn;
    this.#now = now;
  }

  /** A message from a person in a session of a known tenant. */
  async receive(m: {
    tenantId: string;
    channel: string;
    conversation: string;
    text: string;
    sourceKey?: string | null;
    attachments?: Attachment[];
    /** A quota admission (tenancy/quotas.ts) to bind to the turn's run, with the run's id on the message, before this returns. */
    admission?: string;
  }): Promise<Received> {
    const scope = this.#tenants.scope(m.tenantId);
    const { session, message, duplicate } = await openAndAppend(
      scope,
      m,
      {
        role: "user",
        content: m.text,
        sourceKey: m.sourceKey ?? null,
        ...(m.attachments ? { attachments: m.attachments } : {}),
      },
      this.#now(),
    );
    return this.#started(m.tenantId, session, message, duplicate, undefined, m.admission);
  }

  /**
   * `receive` on Postgres with a quota admission's first pass (`quotas.firstPass`) in the statement
   * that stores the message: refused, nothing is stored or started, and the pass's verdict comes back.
   */
  async receiveAdmitted(
    m: { tenantId: string; channel: string; conversation: string; text: string; sourceKey: string | null },
    admit: { id: string; sql: string; params: unknown[] },
  ): Promise<Received | { refused: unknown }> {
    const scope = this.#tenants.scope(m.tenantId);
    const r = await openAndAppendAdmitted(
      scope,
      m,
      { role: "user", content: m.text, sourceKey: m.sourceKey },
      this.#now(),
      admit,
    );
    if ("refused" in r) return r;
    return this.#started(m.tenantId, r.session, r.message, r.duplicate, undefined, admit.id);
  }

  /** A background event (reminder, schedule tick, due item) becomes a turn in a session of the tenant. */
  async background(m: {
    tenantId: string;
    sessionId: string | null;
    prompt: string;
    sourceKey: string;
    label: string;
  }): Promise<Received> {
    const scope = this.#tenants.scope(m.tenantId);
    const tenant = await this.#tenants.require(m.tenantId);
    const session =
      (m.sessionId && (await sessions.get(scope, m.sessionId))) ||
      (tenant.settings.homeSession && (await sessions.get(scope, tenant.settings.homeSession))) ||
      (await sessions.latest(scope)) ||
      (await sessions.open(scope, "http", "background", this.#now()));
    return this.#persistAndStart(m.tenantId, session, "event", m.prompt, m.sourceKey, m.label);
  }

  /**
   * A message from a channel identity: a bound one starts a turn; `/start CODE` (or `pair CODE`)
   * binds an unknown one; anyone else gets instructions and never an agent turn.
   */
  async fromIdentity(m: IdentityMessage): Promise<IdentityOutcome> {
    const pairing = PAIRING.exec(m.text);
    if (pairing) {
      const tenantId = await this.#tenants.redeemPairingCode(pairing[1] as string, m.channel, m.externalId, m.display);
      if (tenantId) return { kind: "paired", tenantId, reply: "Paired. You can talk to me now." };
    }
    const tenantId = await this.#tenants.tenantOf(m.channel, m.externalId);
    if (!tenantId)
      return {
        kind: "unpaired",
        reply: pairing
          ? "That pairing code is unknown, used or expired. Ask the operator for a new one."
          : UNPAIRED_REPLY,
      };
    return {
      kind: "turn",
      tenantId,
      received: await this.receive({
        tenantId,
        channel: m.channel,
        conversation: m.conversation,
        text: m.text,
        sourceKey: m.sourceKey,
        ...(m.attachments ? { attachments: m.attachments } : {}),
      }),
    };
  }

  /** Starts turns for persisted messages that have none (the process died between the two). */
  async recover(): Promise<number> {
    const rows = await this.#db.all<{ tenant_id: string }>(
      "SELECT DISTINCT tenant_id FROM os_messages WHERE run_id IS NULL AND role <> 'assistant'",
    );
    let n = 0;
    for (const { tenant_id } of rows) {
      const scope = this.#tenants.scope(tenant_id);
      for (const m of await sessions.unstarted(scope)) {
        const run = await this.#startRun(tenant_id, m);
        await sessions.setRun(scope, m.id, run.id);
        // A run found by its key was started before the crash; only its id was not recorded.
        if (run.created) n++;
      }
    }
    return n;
  }

  async #persistAndStart(
    tenantId: string,
    session: Session,
    role: "user" | "event",
    text: string,
    sourceKey: string | null,
    label?: string,
    attachments?: Attachment[],
  ): Promise<Received> {
    const scope = this.#tenants.scope(tenantId);
    const { message, duplicate } = await sessions.append(
      scope,
      { sessionId: session.id, role, content: text, sourceKey, ...(attachments ? { attachments } : {}) },
      this.#now(),
    );
    return this.#started(tenantId, session, message, duplicate, label);
  }

  /**
   * The message's turn, started unless it was (a redelivery of a message whose turn is recorded).
   * The run's id is recorded on the message without waiting for it: the turn does not need it, and
   * a crash before it lands leaves the message as a crash before the start would, which `recover`
   * repairs (the start is idempotent by its key, so it finds this run). With a quota admission, the
   * same statement binds it, and is waited for: the admission counts the run from when the caller
   * answers (an unbound one counts too, but only until it expires).
   */
  async #started(
    tenantId: string,
    session: Session,
    message: Message,
    duplicate: boolean,
    label?: string,
    admission?: string,
  ) {
    const runId = message.runId ?? (await this.#start(tenantId, message, label));
    if (admission !== undefined) await sessions.setRun(this.#tenants.scope(tenantId), message.id, runId, admission);
    else if (!message.runId) {
      const recording = sessions
        .setRun(this.#tenants.scope(tenantId), message.id, runId)
        .catch(() => {})
        .finally(() => this.#recording.delete(recording));
      this.#recording.add(recording);
    }
    return { session, message: { ...message, runId }, runId, duplicate };
  }

  /** Waits for the run ids being recorded on messages (a caller that reads them back, or closes the store). */
  async settled(): Promise<void> {
    await Promise.all(this.#recording);
  }

  /** Starts the message's turn, or finds it started (the key makes this idempotent). */
  async #start(tenantId: string, m: Message, label?: string): Promise<string> {
    return (await this.#startRun(tenantId, m, label)).id;
  }

  /** The same, with `created` false when the run was found by its key. */
  #startRun(tenantId: string, m: Message, label?: string) {
    const input: TurnInput = {
      tenantId,
      sessionId: m.sessionId,
      seq: m.seq,
      ...(m.role === "event" ? { background: label ?? "a background job" } : {}),
    };
    // The key makes this idempotent: a recovery or a redelivery finds the run already started.
    return this.#kernel.start(this.#turn, input, { key: `turn:${m.id}`, namespace: tenantId });
  }
}
