import { badRequest } from "../tenancy/errors.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import type { Decision, Tool } from "../tools/types.ts";

export interface PolicyRule {
  tool: string;
  /** A glob over the call's subject (`*` any run of characters); empty matches every call. */
  pattern: string;
  decision: Decision;
  createdAt: number;
}

const DECISIONS = new Set(["allow", "ask", "deny"]);

function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`, "s");
}

/** The subject of a call: what patterns match and what an approval shows. */
export function subjectOf(tool: Tool, args: unknown): string {
  try {
    return tool.subject ? tool.subject(args) : JSON.stringify(args);
  } catch {
    return JSON.stringify(args);
  }
}

/** Per-tenant allow / ask / deny by tool and subject pattern; the most specific matching rule wins. */
export const policies = {
  async list(scope: TenantScope): Promise<PolicyRule[]> {
    const rows = await scope.all<{ tool: string; pattern: string; decision: Decision; created_at: number }>(
      "SELECT tool, pattern, decision, created_at FROM os_policies WHERE tenant_id = $tenant ORDER BY tool, pattern",
    );
    return rows.map((r) => ({ tool: r.tool, pattern: r.pattern, decision: r.decision, createdAt: Number(r.created_at) }));
  },

  async set(scope: TenantScope, rule: { tool: string; pattern?: string; decision: string }, now: number): Promise<PolicyRule> {
    if (!DECISIONS.has(rule.decision)) throw badRequest(`decision must be allow, ask or deny, got ${JSON.stringify(rule.decision)}`);
    const pattern = rule.pattern ?? "";
    await scope.run("DELETE FROM os_policies WHERE tenant_id = $tenant AND tool = ? AND pattern = ?", [rule.tool, pattern]);
    await scope.run("INSERT INTO os_policies (tenant_id, tool, pattern, decision, created_at) VALUES ($tenant, ?, ?, ?, ?)", [
      rule.tool, pattern, rule.decision, now,
    ]);
    return { tool: rule.tool, pattern, decision: rule.decision as Decision, createdAt: now };
  },

  async remove(scope: TenantScope, tool: string, pattern = ""): Promise<boolean> {
    return (await scope.run("DELETE FROM os_policies WHERE tenant_id = $tenant AND tool = ? AND pattern = ?", [tool, pattern])).changes > 0;
  },

  /** What to do with one call: a deny rule that matches beats everything; else the longest matching pattern; else the tool's default. */
  async decide(scope: TenantScope, tool: Tool, subject: string): Promise<{ decision: Decision; rule: string }> {
    const rules = (await scope.all<{ pattern: string; decision: Decision }>(
      "SELECT pattern, decision FROM os_policies WHERE tenant_id = $tenant AND tool = ?", [tool.name],
    )).filter((r) => r.pattern === "" || glob(r.pattern).test(subject));
    const deny = rules.find((r) => r.decision === "deny");
    if (deny) return { decision: "deny", rule: `deny ${tool.name} ${deny.pattern || "*"}` };
    const best = rules.sort((a, b) => b.pattern.length - a.pattern.length)[0];
    if (best) return { decision: best.decision, rule: `${best.decision} ${tool.name} ${best.pattern || "*"}` };
    return { decision: tool.defaultDecision, rule: `default for ${tool.name} (${tool.risk} risk)` };
  },
};
