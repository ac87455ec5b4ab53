import type { AuthThrottle } from "../api/auth-throttle.ts";
import { agentdClient } from "../api/client.ts";

/** What the MCP server needs of the API app: answering a request in this process. */
export interface ApiApp {
  request(input: string | Request | URL, init?: RequestInit): Response | Promise<Response>;
}

/** What the MCP server is given: the API it acts through, and the throttle of wrong tokens. */
export interface McpServerAppOptions {
  /** The API app, answering in this process: every tool acts through it with the caller's token. */
  api: ApiApp;
  /** Wrong tokens per address, shared with the API: guessing at /mcp costs as much as anywhere. */
  throttle: AuthThrottle;
}

/** Who calls, as the MCP endpoint authenticated them: the token they sent and the tenant it acts for. */
export interface McpCaller {
  token: string;
  tenantId: string;
  /** True for the admin token (it names the tenant with X-Agentd-Tenant). */
  admin: boolean;
}

/** An error answer of the API to a tool's request: its status, its code, and the API's own reason. */
export class ApiRefusal extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "ApiRefusal";
    this.status = status;
    this.code = code;
  }
}

/**
 * The API as the MCP caller reaches it: the same routes, in this process, with the caller's own
 * token, so what a tool may see and do is decided where it is for every client (another tenant's
 * run is a 404 here too). An error answer is thrown as an ApiRefusal.
 */
export function callerClient(api: ApiApp, caller: McpCaller) {
  return agentdClient("http://agentd.internal", {
    token: caller.token,
    tenant: () => (caller.admin ? caller.tenantId : null),
    fetch: (async (input: string | URL | Request, init?: RequestInit) => {
      const res = await api.request(input, init);
      if (res.ok) return res;
      let code = "error";
      let message = `the API answered HTTP ${res.status}`;
      try {
        const body = (await res.json()) as { error?: { code?: unknown; message?: unknown } };
        if (typeof body.error?.code === "string") code = body.error.code;
        if (typeof body.error?.message === "string") message = body.error.message;
      } catch {
        // not our JSON: the status says enough
      }
      throw new ApiRefusal(res.status, code, message);
    }) as typeof fetch,
  });
}

export type CallerClient = ReturnType<typeof callerClient>;
