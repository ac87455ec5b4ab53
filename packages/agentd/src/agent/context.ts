import { toMs } from "@agentd/kernel";
import { sessions } from "../sessions/store.ts";
import type { TenantScope } from "../tenancy/scope.ts";
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
  approvalTimeoutMs: number;
  /** Set when enough messages have left the window to fold them into the summary after this turn. */
  compactFrom: number | null;
}

export async function loadContext(deps: AgentDeps, scope: TenantScope, input: TurnInput): Promise<TurnContext> {
  const now = deps.now();
  const tenant = await deps.tenants.require(input.tenantId);
  const session = await sessions.require(scope, input.sessionId);
  const history = await sessions.recent(scope, input.sessionId, deps.historyWindow, input.seq);
  const s = tenant.settings;
  const used = s.dailyTokenBudget > 0 ? (await usageOn(scope, now)).tokens : 0;
  const unsummarized = await scope.get<{ n: number }>(
    "SELECT COUNT(*) AS n FROM os_messages WHERE tenant_id = $tenant AND session_id = ? AND seq > ? AND seq <= ?",
    [input.sessionId, session.summarizedSeq, input.seq],
  );
  const reportOnly = Boolean(input.background) && !s.autopilot;
  const { tools, sourced } = await deps.tools.resolve(scope, {
    allow: reportOnly ? (s.tools ?? REPORT_ONLY).filter((t) => REPORT_ONLY.includes(t)) : s.tools,
    deny: s.deniedTools,
    sources: !reportOnly,
  });
  return {
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
    approvalTimeoutMs: toMs(deps.approvalTimeout),
    compactFrom: Number(unsummarized?.n ?? 0) > deps.historyWindow + deps.compactAfter ? session.summarizedSeq : null,
  };
}
