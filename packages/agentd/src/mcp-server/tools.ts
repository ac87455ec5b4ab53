import type { CallToolResult, McpServer, ServerContext } from "@modelcontextprotocol/server";
import { z } from "zod";
import { MAX_TEXT_CHARS } from "../api/routes/messages.ts";
import type { Logger } from "@agentd/kernel";
import { ApiRefusal, type CallerClient } from "./api.ts";
import { followTurn } from "./follow.ts";
import { json, stopResult, text } from "./results.ts";

/** The channel of sessions started through MCP: a conversation of an MCP client is its own session. */
export const MCP_CHANNEL = "mcp";

const RUN_STATUS = z.enum(["pending", "running", "suspended", "completed", "failed", "cancelled"]);
const Id = z.string().min(1).max(200);

/**
 * Registers agentd's tools on one request's server: each acts for the caller through the API
 * (`client`), so the API's checks, quotas and redaction apply as they do for every client.
 */
export function registerTools(server: McpServer, client: CallerClient, log: Logger): void {
  const tool = <S extends z.ZodObject>(
    name: string,
    config: { description: string; inputSchema: S; readOnly: boolean },
    run: (args: z.infer<S>, ctx: ServerContext) => Promise<CallToolResult>,
  ) =>
    server.registerTool(
      name,
      {
        description: config.description,
        inputSchema: config.inputSchema,
        annotations: { readOnlyHint: config.readOnly, openWorldHint: false },
      },
      (async (args: z.infer<S>, ctx: ServerContext) => {
        try {
          return await run(args, ctx);
        } catch (e) {
          if (e instanceof ApiRefusal) return text(`${e.message} (HTTP ${e.status}, ${e.code})`, true);
          if (ctx.mcpReq.signal.aborted) return text("cancelled", true);
          // Not a refusal of the API: a fault of ours, whose details stay in the log.
          log({
            level: "error",
            msg: "mcp tool failed",
            tool: name,
            error: e instanceof Error ? e.message : String(e),
          });
          return text(`${name} failed inside agentd; the operator's log has the details`, true);
        }
      }) as never,
    );

  tool(
    "send_message",
    {
      description:
        "Send a message to the tenant's agent and get its reply (streamed as progress notifications while it comes). " +
        "Messages with the same conversation share a session: its history, memory and tools.",
      inputSchema: z.object({
        text: z.string().min(1).max(MAX_TEXT_CHARS).describe("the message, as a person would write it"),
        conversation: z
          .string()
          .min(1)
          .max(200)
          .default("default")
          .describe("the conversation (session) to continue; a new name starts a new one"),
      }),
      readOnly: false,
    },
    async (args, ctx) => {
      const res = await client.v1.messages.$post(
        { json: { text: args.text, conversation: args.conversation, channel: MCP_CHANNEL } },
        { headers: { accept: "text/event-stream" }, init: { signal: ctx.mcpReq.signal } },
      );
      return stopResult(await followTurn(res.body as ReadableStream<Uint8Array>, { progress: progressOf(ctx) }));
    },
  );

  tool(
    "list_runs",
    {
      description:
        "List the tenant's runs (agent turns, reminders, scheduled jobs), newest first: id, workflow, status, times, error.",
      inputSchema: z.object({
        status: z.array(RUN_STATUS).max(6).optional().describe("only runs in these statuses"),
        limit: z.number().int().min(1).max(100).default(20),
        cursor: z.string().max(200).optional().describe("the `next` of the previous answer, for the next page"),
      }),
      readOnly: true,
    },
    async (args) => {
      const res = await client.v1.runs.$get({
        query: {
          limit: String(args.limit),
          ...(args.status?.length ? { status: args.status.join(",") } : {}),
          ...(args.cursor ? { cursor: args.cursor } : {}),
        },
      });
      const page = await res.json();
      return json({
        runs: page.runs.map((r) => ({
          id: r.id,
          workflow: r.workflow,
          status: r.status,
          createdAt: r.createdAt,
          completedAt: r.completedAt,
          ...(r.error ? { error: r.error.message } : {}),
        })),
        next: page.next,
      });
    },
  );

  tool(
    "get_run",
    {
      description:
        "Read one run: its status, input, output (a turn's reply), error, what it waits for; with journal, each step it took.",
      inputSchema: z.object({ id: Id.describe("the run id"), journal: z.boolean().default(false) }),
      readOnly: true,
    },
    async (args) => {
      const param = { id: encodeURIComponent(args.id) };
      const run = await (await client.v1.runs[":id"].$get({ param })).json();
      if (!args.journal) return json(run);
      const { journal } = await (await client.v1.runs[":id"].journal.$get({ param })).json();
      return json({ ...run, journal });
    },
  );

  tool(
    "list_approvals",
    {
      description: "List tool calls of the agent waiting for a person's approval (or decided ones): id, tool, subject.",
      inputSchema: z.object({
        status: z.enum(["pending", "approved", "denied", "expired", "cancelled", "all"]).default("pending"),
        limit: z.number().int().min(1).max(100).default(20),
      }),
      readOnly: true,
    },
    async (args) => {
      const res = await client.v1.approvals.$get({ query: { status: args.status, limit: String(args.limit) } });
      return json(await res.json());
    },
  );

  tool(
    "decide_approval",
    {
      description:
        'Decide a tool call waiting for approval: "once" allows this call, "always" allows such calls from now on, ' +
        '"deny" refuses it. Answers with the rest of the agent\'s reply (streamed as progress notifications).',
      inputSchema: z.object({
        id: Id.describe("the approval id (apr_…), as send_message or list_approvals gave it"),
        decision: z.enum(["once", "always", "deny"]),
      }),
      readOnly: false,
    },
    async (args, ctx) => {
      const decided = await (
        await client.v1.approvals[":id"].$post({
          param: { id: encodeURIComponent(args.id) },
          json: { decision: args.decision },
        })
      ).json();
      // The run's stream from its start, passing over what came before this approval: what the decision led to.
      const res = await client.v1.runs[":id"].stream.$get(
        { param: { id: encodeURIComponent(decided.runId) } },
        { init: { signal: ctx.mcpReq.signal } },
      );
      const followed = await followTurn(res.body as ReadableStream<Uint8Array>, {
        progress: progressOf(ctx),
        after: decided.id,
      });
      return stopResult({ ...followed, runId: decided.runId, sessionId: decided.sessionId });
    },
  );

  tool(
    "search_memory",
    {
      description:
        "Search the tenant's long-term memory (what the agent keeps across conversations); best matches first.",
      inputSchema: z.object({
        query: z.string().min(1).max(1000),
        limit: z.number().int().min(1).max(50).default(10),
      }),
      readOnly: true,
    },
    async (args) => {
      const res = await client.v1.memory.$get({ query: { q: args.query, limit: String(args.limit) } });
      return json(await res.json());
    },
  );

  tool(
    "list_schedules",
    {
      description:
        "List the tenant's reminders and recurring jobs: prompt, cron and time zone or the time, paused, next fire times.",
      inputSchema: z.object({}),
      readOnly: true,
    },
    async () => json(await (await client.v1.schedules.$get()).json()),
  );
}

/** Progress notifications for the request, when its client asked for them (a progress token). */
function progressOf(ctx: ServerContext): (message: string) => Promise<void> {
  const token = ctx.mcpReq._meta?.progressToken;
  let n = 0;
  return async (message) => {
    if (token === undefined || message === "") return;
    n += 1;
    await ctx.mcpReq.notify({
      method: "notifications/progress",
      params: { progressToken: token, progress: n, message },
    });
  };
}
