import { AgentdError, badRequest } from "../errors.ts";
import { serializeTenant } from "../tenancy/lock.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import type { Decision, Tool } from "../tools/types.ts";
import { globMatch } from "./glob.ts";

export interface PolicyRule {
  tool: string;
  /** A glob over the call's subject (`*` any run of characters); empty matches every call. */
  pattern: string;
  decision: Decision;
  createdAt: number;
}

const DECISIONS = new Set(["allow", "ask", "deny"]);
/** Patterns come from tenants: each is bounded, and so is how many one tenant keeps (each call checks them all). */
export const MAX_PATTERN_CHARS = 500;
export const MAX_POLICIES = 200;

/** The subject of a call: what patterns match and what an approval shows. */
export function subjectOf(tool: Tool, args: unknown): string {
  try {
    return tool.subject ? tool.subject(args) : JSON.stringify(args);
  } catch {
    return JSON.stringify(args);
  }
}

/** The allow rule an "Always" answer adds, and the phrase that tells the person its reach. */
export function alwaysOf(tool: Tool, args: unknown): { pattern: string; shown: string } {
  if (tool.always) return tool.always(args);
  return { pattern: "", shown: `every call of ${tool.name}` };
}

/** Per-tenant allow / ask / deny by tool and subject pattern; the most specific matching rule wins. */
export const policies = {
  async list(scope: TenantScope): Promise<PolicyRule[]> {
    const rows = await scope.all<{ tool: string; pattern: string; decision: Decision; created_at: number }>(
      "SELECT tool, pattern, decision, created_at FROM os_policies WHERE tenant_id = $tenant ORDER BY tool, pattern",
    );
    return rows.map((r) => ({
      tool: r.tool,
      pattern: r.pattern,
      decision: r.decision,
      createdAt: Number(r.created_at),
    }));
  },

  async set(
    scope: TenantScope,
    rule: { tool: string; pattern?: string; decision: string },
    now: number,
  ): Promise<PolicyRule> {
    if (!DECISIONS.has(rule.decision))
      throw badRequest(`decision must be allow, ask or deny, got ${JSON.stringify(rule.decision)}`);
    const pattern = rule.pattern ?? "";
    if (rule.tool.length > 100) throw badRequest(`a tool name has at most 100 characters, got ${rule.tool.length}`);
    const star = rule.tool.indexOf("*");
    if (star >= 0 && (star !== rule.tool.length - 1 || star === 0))
      throw badRequest(
        `a rule's tool is one tool's name or a prefix ending in one * (mcp__github__* covers every tool of the server github), got ${JSON.stringify(rule.tool.slice(0, 100))}; the pattern globs the call's subject`,
      );
    if (pattern.length > MAX_PATTERN_CHARS)
      throw badRequest(`a policy pattern has at most ${MAX_PATTERN_CHARS} characters, got ${pattern.length}`);
    return scope.tx(async (tx) => {
      await serializeTenant(tx);
      const kept = await tx.get<{ n: number }>(
        "SELECT COUNT(*) AS n FROM os_policies WHERE tenant_id = $tenant AND NOT (tool = ? AND pattern = ?)",
        [rule.tool, pattern],
      );
      if (Number(kept?.n) >= MAX_POLICIES)
        throw badRequest(
          `this tenant has ${MAX_POLICIES} policy rules, the most it may keep; remove one (DELETE /v1/policies/{tool}?pattern=…) before adding another`,
        );
      await tx.run("DELETE FROM os_policies WHERE tenant_id = $tenant AND tool = ? AND pattern = ?", [
        rule.tool,
        pattern,
      ]);
      await tx.run(
        "INSERT INTO os_policies (tenant_id, tool, pattern, decision, created_at) VALUES ($tenant, ?, ?, ?, ?)",
        [rule.tool, pattern, rule.decision, now],
      );
      return { tool: rule.tool, pattern, decision: rule.decision as Decision, createdAt: now };
    });
  },

  async remove(scope: TenantScope, tool: string, pattern = ""): Promise<boolean> {
    return (
      (
        await scope.run("DELETE FROM os_policies WHERE tenant_id = $tenant AND tool = ? AND pattern = ?", [
          tool,
          pattern,
        ])
      ).changes > 0
    );
  },

  /**
   * The rule an "Always" answer adds: what the person was shown ("every http_request to
   * https://host with secret k"), never the whole tool unless it said so. A tenant at its rule limit
   * has the call approved once; the rule is not written.
   */
  async allowAlways(scope: TenantScope, tool: Tool, args: unknown, now: number): Promise<void> {
    await this.set(scope, { tool: tool.name, pattern: alwaysOf(tool, args).pattern, decision: "allow" }, now).catch(
      (e: unknown) => {
        if (!AgentdError.is(e, "bad_request")) throw e;
      },
    );
  },

  /**
   * What to do with one call. A deny rule that matches beats everything. Else the most specific rule:
   * one naming the tool before one naming a prefix of it (`mcp__github__*`), a longer prefix before a
   * shorter, then the longest matching pattern. Else the tool's default.
   */
  async decide(scope: TenantScope, tool: Tool, subject: string): Promise<{ decision: Decision; rule: string }> {
    const rules = (
      await scope.all<{ tool: string; pattern: string; decision: Decision }>(
        "SELECT tool, pattern, decision FROM os_policies WHERE tenant_id = $tenant AND (tool = ? OR tool LIKE '%*')",
        [tool.name],
      )
    ).filter((r) => covers(r.tool, tool.name) && (r.pattern === "" || globMatch(r.pattern, subject)));
    const said = (r: { tool: string; pattern: string; decision: Decision }) =>
      `${r.decision} ${r.tool} ${r.pattern || "*"}`;
    const deny = rules.find((r) => r.decision === "deny");
    if (deny) return { decision: "deny", rule: said(deny) };
    const best = rules.sort(
      (a, b) => specificity(b.tool) - specificity(a.tool) || b.pattern.length - a.pattern.length,
    )[0];
    if (best) return { decision: best.decision, rule: said(best) };
    return { decision: tool.defaultDecision, rule: `default for ${tool.name} (${tool.risk} risk)` };
  },
};

/** Whether a rule's tool (a name, or a prefix ending in `*`) covers the tool `name`: a prefix test, linear. */
export function covers(ruleTool: string, name: string): boolean {
  return ruleTool.endsWith("*") ? name.startsWith(ruleTool.slice(0, -1)) : ruleTool === name;
}

/** A rule naming the tool outranks every prefix; a longer prefix outranks a shorter. */
function specificity(ruleTool: string): number {
  return ruleTool.endsWith("*") ? ruleTool.length - 1 : Number.MAX_SAFE_INTEGER;
}
