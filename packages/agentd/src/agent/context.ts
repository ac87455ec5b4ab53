import type { VoiceReplies } from "../media/speech.ts";
import { toMs } from "@agentd/kernel";
import type { Session } from "../sessions/store.ts";
import { turnView } from "../sessions/turn-view.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import type { ToolGroup } from "../tools/groups.ts";
import type { ToolAccess } from "../tools/registry.ts";
import type { TenantSettings } from "../tenancy/settings.ts";
import type { SourcedTool } from "../tools/sources/port.ts";
import type { AgentDeps } from "./deps.ts";
import type { HistoryItem } from "./prompt.ts";
import type { TurnInput } from "./turn-input.ts";
import { usageOn } from "./usage.ts";

/** Tools a background turn may use when autopilot is off: it reminds and reports, it does not act. */
const REPORT_ONLY = ["recall"];

/** Everything a turn decides from, read once and journaled, so that a replay decides the same. */
export interface TurnContext {
  now: number;
  timezone: string;
  summary: string;
  /** Media as references only: the journal stays small, bytes are read when the model is called. */
  history: HistoryItem[];
  /** Tokens left today, or null when the tenant has no daily budget. */
  budgetLeft: number | null;
  maxIterations: number;
  maxTurnTokens: number;
  autopilot: boolean;
  /**
   * The tools this turn offers (ResolvedTools): built-ins by name (null in turns recorded before tools
   * were resolved per tenant: every one) and, in `sourced`, the tenant's own as its sources listed them.
   */
  tools: string[] | null;
  sourced?: SourcedTool[];
  /** Tool groups offered from the start (absent in turns recorded before groups: every one). */
  groups?: ToolGroup[];
  approvalTimeoutMs: number;
  /** When the reply is also spoken (tenant settings; absent in turns recorded before voice replies: never). */
  voiceReplies?: VoiceReplies;
  /** Set when enough messages have left the window to fold them into the summary after this turn. */
  compactFrom: number | null;
}

/**
 * The context, and what the caller keeps for this execution's later steps without journaling it: the
 * session (they need only its channel and conversation) and whether a later message of the session
 * was answered already (the first model step asks). On Postgres each read is a round trip, so the
 * tenant, the session's reads and what the tool sources read first (whether the tenant has MCP servers,
 * a Composio key) are one statement (turn-view.ts); a tenant without sources resolves its tools with
 * no I/O after it. On SQLite the tools are resolved beside the view for the access a tenant has by
 * default, checked against its settings once read (resolved again only for a tenant whose settings differ).
 */
export async function loadContext(
  deps: AgentDeps,
  scope: TenantScope,
  input: TurnInput,
): Promise<{ context: TurnContext; session: Session; answeredAfter: boolean }> {
  const now = deps.now();
  const threshold = deps.historyWindow + deps.compactAfter;
  const postgres = scope.dialect === "postgres";
  const guess = accessFor(input, null);
  const [view, guessed] = await Promise.all([
    turnView(
      scope,
      { sessionId: input.sessionId, upto: input.seq, window: deps.historyWindow, atMost: threshold + 1, now },
      postgres ? deps.tools.prefetches() : undefined,
    ),
    // Postgres: the sources' reads come with the view, so the tools are resolved after it, for the tenant's own access.
    postgres ? null : deps.tools.resolve(scope, guess).catch(() => null),
  ]);
  const tenant = view.tenant ?? (await deps.tenants.require(input.tenantId));
  const s = tenant.settings;
  const access = accessFor(input, s);
  const same = guessed && JSON.stringify(access) === JSON.stringify(guess);
  const [used, { tools, sourced }] = await Promise.all([
    s.dailyTokenBudget > 0 ? (view.usedToday ?? usageOn(scope, now).then((u) => u.tokens)) : 0,
    same ? guessed : deps.tools.resolve(scope, access, view.prefetched ?? undefined),
  ]);
  const { session, history, answeredAfter, unsummarized } = view;
  const context: TurnContext = {
    now,
    timezone: s.timezone,
    summary: session.summary,
    history: history.map((m) => ({
      role: m.role,
      content: m.content,
      ...(m.attachments ? { attachments: m.attachments } : {}),
    })),
    budgetLeft: s.dailyTokenBudget > 0 ? s.dailyTokenBudget - used : null,
    maxIterations: s.maxIterations,
    maxTurnTokens: s.maxTurnTokens,
    autopilot: s.autopilot,
    tools,
    sourced,
    groups: s.toolGroups as ToolGroup[],
    approvalTimeoutMs: toMs(deps.approvalTimeout),
    voiceReplies: s.voiceReplies,
    compactFrom: unsummarized > threshold ? session.summarizedSeq : null,
  };
  return { context, session, answeredAfter };
}

/** The tools a turn may be offered: its tenant's settings (null: the defaults), less for a background turn without autopilot. */
function accessFor(input: TurnInput, s: TenantSettings | null): ToolAccess {
  const reportOnly = Boolean(input.background) && !s?.autopilot;
  const allow = s?.tools ?? null;
  return {
    allow: reportOnly ? (allow ?? REPORT_ONLY).filter((t) => REPORT_ONLY.includes(t)) : allow,
    deny: s?.deniedTools ?? [],
    sources: !reportOnly,
  };
}
