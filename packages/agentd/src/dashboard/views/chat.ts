import { html } from "hono/html";
import type { Routes } from "../routes.ts";
import { formOf, one } from "../forms.ts";
import { csrfField, page, time } from "../page.ts";
import { viewerOf } from "../viewer.ts";
import { type ChatMessage, type SessionView, transcript } from "./sessions.ts";

/** The conversation this dashboard chats in (channel "http" of the API). */
export const CHAT_CONVERSATION = "dashboard";

/**
 * The web chat: the transcript, and a form whose reply the script streams token by token (tool calls
 * and approvals inline); without the script the form still sends and the page shows the reply when done.
 */
export function chatPages({ r, guard }: Routes) {
  r.get("/chat", guard, async (c) => {
    const v = viewerOf(c);
    if (!v.tenantId) return page(c, v, "Chat", html`<p class="empty">No tenant yet.</p>`);
    const { sessions } = await v.api.get<{ sessions: SessionView[] }>("/v1/sessions", { limit: 500 });
    const mine = sessions.find((s) => s.channel === "http" && s.conversation === CHAT_CONVERSATION);
    const messages = mine
      ? (await v.api.get<{ messages: ChatMessage[] }>(`/v1/sessions/${mine.id}/messages`, { limit: 500 })).messages
      : [];
    return page(
      c,
      v,
      "Chat",
      html`<section class="chat" data-conversation="${CHAT_CONVERSATION}" aria-label="Conversation with the agent">
<ol class="transcript" aria-live="polite">${transcript(messages)}</ol>
<form method="post" action="/chat" class="composer" enctype="multipart/form-data">${csrfField(v)}
<label for="chat-text" class="sr">Message</label>
<textarea id="chat-text" name="text" rows="3" maxlength="32000" placeholder="Write to the agent (Ctrl+Enter sends)"></textarea>
<label class="attach">Attach files <input type="file" name="files" multiple></label>
<button type="submit">Send</button>
</form>
<p class="muted">${mine ? html`Session <a href="/sessions/${mine.id}"><code>${mine.id}</code></a> · started ${time(mine.createdAt)}` : "A new session starts with the first message."}</p>
</section>`,
    );
  });

  r.post("/chat", guard, async (c) => {
    const v = viewerOf(c);
    const form = await formOf(c);
    const text = one(form.text).trim();
    // Without the script the files come with the form: each is uploaded, then the message names them.
    const files = ([] as unknown[]).concat((await c.req.parseBody({ all: true })).files ?? []);
    const attachments: string[] = [];
    for (const f of files)
      if (f instanceof File && f.size > 0) attachments.push((await v.api.upload<{ id: string }>(f)).id);
    if (text)
      await v.api.send("POST", "/v1/messages", {
        text,
        conversation: CHAT_CONVERSATION,
        ...(attachments.length ? { attachments } : {}),
      });
    return c.redirect("/chat", 303);
  });
}
