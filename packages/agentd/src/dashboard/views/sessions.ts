import { html } from "hono/html";
import type { Routes } from "../routes.ts";
import { page, shortId, time } from "../page.ts";
import { viewerOf } from "../viewer.ts";

export interface SessionView {
  id: string;
  channel: string;
  conversation: string;
  summary: string;
  createdAt: number;
  updatedAt: number;
}
export interface ChatMessage {
  seq: number;
  id: string;
  role: string;
  content: string;
  runId: string | null;
  createdAt: number;
  attachments?: {
    id: string;
    mime: string;
    name?: string | null;
    /** A voice note's transcript or a document's text, read when it came (media/). */
    text?: { kind: string; content: string; cut?: string; error?: string };
  }[];
}

/** Sessions per channel and their transcripts; a message's files, opened as the signed-in viewer. */
export function sessionPages({ r, guard }: Routes) {
  // A link to /v1/blobs would carry the cookie but not the tenant an operator acts for (a header),
  // so the operator's session got 400 tenant_required: the page's API, which names it, fetches the file.
  r.get("/files/:id", guard, async (c) => {
    const res = await viewerOf(c).api.raw(`/v1/blobs/${encodeURIComponent(c.req.param("id"))}`);
    const headers = new Headers();
    for (const h of ["content-type", "content-length", "content-disposition", "x-content-type-options"])
      if (res.headers.has(h)) headers.set(h, res.headers.get(h) as string);
    // What people send is not ours to run: as the API serves it, never a page of this origin.
    headers.set("content-security-policy", "sandbox");
    headers.set("cache-control", "private, no-store");
    return new Response(res.body, { status: 200, headers });
  });

  r.get("/sessions", guard, async (c) => {
    const v = viewerOf(c);
    if (!v.tenantId) return page(c, v, "Sessions", html`<p class="empty">No tenant yet.</p>`);
    const { sessions } = await v.api.get<{ sessions: SessionView[] }>("/v1/sessions", { limit: 500 });
    return page(
      c,
      v,
      "Sessions",
      sessions.length === 0
        ? html`<p class="empty">No sessions yet.</p>`
        : html`<div class="scroll" tabindex="0" role="region" aria-label="Scrollable table"><table><thead><tr><th scope="col">Session</th><th scope="col">Channel</th><th scope="col">Conversation</th><th scope="col">Last active</th></tr></thead>
<tbody>${sessions.map((s) => html`<tr><td><a href="/sessions/${s.id}"><code>${shortId(s.id)}</code></a></td><td>${s.channel}</td><td>${s.conversation.slice(0, 60)}</td><td>${time(s.updatedAt)}</td></tr>`)}</tbody></table></div>`,
    );
  });

  r.get("/sessions/:id", guard, async (c) => {
    const v = viewerOf(c);
    const id = encodeURIComponent(c.req.param("id"));
    const s = await v.api.get<SessionView>(`/v1/sessions/${id}`);
    const { messages } = await v.api.get<{ messages: ChatMessage[] }>(`/v1/sessions/${id}/messages`, { limit: 500 });
    return page(
      c,
      v,
      `Session on ${s.channel}`,
      html`<p class="muted">Conversation <code>${s.conversation}</code> · started ${time(s.createdAt)}</p>
${s.summary ? html`<details><summary>Summary of earlier messages</summary><p>${s.summary}</p></details>` : ""}
<ol class="transcript">${transcript(messages)}</ol>`,
    );
  });
}

export function transcript(messages: ChatMessage[]) {
  if (messages.length === 0) return html`<li class="empty">No messages yet.</li>`;
  return messages.map(
    (
      m,
    ) => html`<li class="msg m-${m.role}" data-run="${m.runId ?? ""}"><div class="meta">${m.role === "user" ? "You" : m.role} · ${time(m.createdAt)}${m.runId ? html` · <a href="/runs/${m.runId}">run</a>` : ""}</div>
<div class="text">${m.content}</div>${(m.attachments ?? []).map((a) => html`<div class="att"><a href="/files/${a.id}">${a.name ?? a.mime}</a>${attachmentText(a.text)}</div>`)}</li>`,
  );
}

/** What was read from a file when it came: a voice note's transcript, a document's text, or why it could not be. */
function attachmentText(t: NonNullable<ChatMessage["attachments"]>[number]["text"]) {
  if (!t) return "";
  const what = t.kind === "transcript" ? "Transcript" : "Text of the document";
  if (t.error) return html`<p class="muted att-text">${what}: not read (${t.error})</p>`;
  const shown = t.content.length > 4000 ? `${t.content.slice(0, 4000)}…` : t.content;
  return html`<details class="att-text"${t.kind === "transcript" ? " open" : ""}><summary>${what}${t.cut ? ` (${t.cut})` : ""}</summary><p>${shown}</p></details>`;
}
