import type { ModelProcess } from "../agent-model.ts";
import { REPLY } from "./config.ts";
import { emit, targets, turn, withApp, type Kind } from "./harness.ts";

// ---- 6. the request for a first "Hi" --------------------------------------------------------------

export async function firstRequest(kind: Kind, model: ModelProcess) {
  await model.reply({ text: REPLY });
  await withApp(kind, model, async (app) => {
    const tenant = await app.tenants.create("hi");
    await model.take();
    await turn(app, tenant.id, "new", "Hi");
    const chat = (await model.take({ raw: true })).requests.filter((r) => r.path === "/v1/chat/completions");
    const raw = chat[0]?.raw;
    if (raw === undefined) throw new Error("the stand-in received no chat completion for the first Hi");
    const body = JSON.parse(raw) as { messages: { role: string }[]; tools?: unknown[] };
    const bytes = Buffer.byteLength(raw);
    const size = (v: unknown) => Buffer.byteLength(JSON.stringify(v));
    const pass = bytes <= 6 * 1024;
    targets.first_request_bytes = pass;
    emit(
      "first_request_bytes",
      {
        what: 'the body of the chat completion request agentd sends for a first "Hi" in a new session (as the stand-in received it)',
        bytes,
        tokens_estimate: Math.ceil(bytes / 4),
        system_bytes: size(body.messages.filter((m) => m.role === "system")),
        messages: body.messages.length,
        tools: body.tools?.length ?? 0,
        tools_bytes: size(body.tools ?? []),
        model_requests: chat.length,
        target: "≤ 6 KB (6,144 bytes)",
        pass,
      },
      kind,
    );
  });
}
