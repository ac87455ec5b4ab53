// agentd's dashboard script: what server-rendered pages cannot do alone. Times in the viewer's zone,
// a run's live stream, and the chat's reply streamed token by token (resumed from its offset after a
// reload). No framework and no build step: this file is served as it is written.
const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content ?? "";
const headers = (more = {}) => {
  const h = { "x-csrf-token": meta("csrf-token"), ...more };
  const tenant = meta("agentd-tenant");
  if (tenant) h["x-agentd-tenant"] = tenant;
  return h;
};

// Times: the page says UTC; here they become the viewer's zone, named. A data-zone keeps its zone.
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const local = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  timeZoneName: "short",
});
for (const t of document.querySelectorAll("time[datetime]:not([data-zone])")) {
  t.title = `${t.dateTime} (UTC); shown in ${zone}`;
  t.textContent = local.format(new Date(t.dateTime));
}

/** Reads a Server-Sent Events answer, calling `on(event, data, id)` for each frame. */
async function readSse(res, on) {
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let event = "message";
      let id;
      let data;
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) event = line.slice(7);
        else if (line.startsWith("id: ")) id = Number(line.slice(4));
        else if (line.startsWith("data: ")) data = JSON.parse(line.slice(6));
      }
      if (data !== undefined && on(event, data, id) === false) return reader.cancel();
    }
  }
}

const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

/** Buttons to decide an approval inline: bound to that approval's id, so to that one call. */
function approvalButtons(a, onDone) {
  const box = el("div", "decide");
  box.append(el("p", "", `${a.tool} wants: ${a.subject}`));
  for (const [decision, label] of [["once", "Approve once"], ["always", "Always allow"], ["deny", "Deny"]]) {
    const b = el("button", decision === "deny" ? "danger" : "", label);
    b.type = "button";
    b.addEventListener("click", async () => {
      const res = await fetch(`/v1/approvals/${encodeURIComponent(a.id)}`, {
        method: "POST",
        headers: headers({ "content-type": "application/json" }),
        body: JSON.stringify({ decision }),
      });
      const body = await res.json().catch(() => ({}));
      box.replaceChildren(el("p", "muted", res.ok ? `Decided: ${body.status}` : (body.error?.message ?? "failed")));
      onDone?.();
    });
    box.append(b);
  }
  return box;
}

// A run's page: its stream, live while it runs, replayed once it has ended.
const live = document.querySelector("section.live[data-run]");
if (live) {
  const out = live.querySelector(".stream");
  const list = live.querySelector(".stream-events");
  const state = live.querySelector(".live-state");
  (async () => {
    const res = await fetch(`/v1/runs/${encodeURIComponent(live.dataset.run)}/stream`, { headers: headers() });
    if (!res.ok) return void (state.textContent = `The stream could not be read (${res.status}).`);
    if (live.dataset.ended !== "1") state.textContent = "Live.";
    await readSse(res, (event, data) => {
      if (event === "text") out.textContent += data.d;
      else if (event === "approval") {
        const li = el("li", "", `Asked a person: ${data.tool} ${data.subject}`);
        // Replayed after the run ended, an approval is history: no buttons for a decided call.
        if (live.dataset.ended !== "1") li.append(approvalButtons(data));
        list.append(li);
      } else if (event === "start") list.append(el("li", "", `model call (attempt ${data.attempt})`));
      else if (event === "tool") list.append(el("li", "", `tool ${data.name}: ${data.subject ?? ""}`));
      else if (event === "done" || event === "end") state.textContent = "The run's stream has ended.";
      else if (event === "error") state.textContent = `The run ended: ${data.message}`;
      else list.append(el("li", "", `${event}: ${JSON.stringify(data).slice(0, 300)}`));
    });
  })().catch((e) => void (state.textContent = `The stream stopped: ${e.message}`));
}

// The chat: send, then stream the reply; a reply in flight survives a reload (its run and offset are kept).
const chat = document.querySelector("section.chat");
if (chat) {
  const form = chat.querySelector("form.composer");
  const text = form.querySelector("textarea");
  const files = form.querySelector('input[type="file"]');
  const transcript = chat.querySelector(".transcript");
  const KEY = `agentd.chat.${meta("agentd-tenant")}.${chat.dataset.conversation}`;
  const save = (s) => (s ? sessionStorage.setItem(KEY, JSON.stringify(s)) : sessionStorage.removeItem(KEY));
  const bubble = (role, content) => {
    transcript.querySelector(".empty")?.remove();
    const li = el("li", `msg m-${role}`);
    li.append(el("div", "meta", role === "user" ? "You" : "assistant"), el("div", "text", content));
    transcript.append(li);
    li.scrollIntoView({ block: "end" });
    return li;
  };
  /** Follows a reply's stream into `li`, keeping the run and the last offset for a reload. */
  const follow = async (res, li, s) => {
    const body = li.querySelector(".text");
    li.setAttribute("aria-busy", "true");
    await readSse(res, (event, data, id) => {
      if (id !== undefined) s.offset = id;
      if (event === "accepted") s.runId = data.runId;
      else if (event === "text") (s.text += data.d), (body.textContent = s.text);
      else if (event === "tool") li.append(el("div", "tool", `tool ${data.name}: ${data.subject ?? ""}`));
      else if (event === "approval") li.append(approvalButtons(data));
      else if (event === "done") {
        body.textContent = data.text ?? s.text;
        save(null);
        li.removeAttribute("aria-busy");
        li.dataset.done = "1";
        return false;
      } else if (event === "error" || event === "unavailable") li.append(el("div", "error", data.message ?? data.text));
      if (s.runId) save(s);
    });
    li.removeAttribute("aria-busy");
  };
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const message = text.value.trim();
    // A file alone (a voice note, a PDF) is a message too: the agent reads it.
    if (!message && !files.files.length) return;
    text.value = "";
    const mine = bubble("user", message);
    // Files go up first (each a blob of the tenant); the message names them.
    const attachments = [];
    for (const file of files.files) {
      const up = await fetch(`/v1/blobs?name=${encodeURIComponent(file.name.slice(0, 200))}`, {
        method: "POST",
        headers: headers({ "content-type": file.type || "application/octet-stream" }),
        body: file,
      });
      const body = await up.json().catch(() => ({}));
      if (!up.ok) return void mine.append(el("div", "error", `${file.name}: ${body.error?.message ?? up.status}`));
      attachments.push(body.id);
      mine.append(el("div", "att", `📎 ${file.name}`));
    }
    files.value = "";
    const li = bubble("assistant", "");
    const res = await fetch("/v1/messages", {
      method: "POST",
      headers: headers({ "content-type": "application/json", accept: "text/event-stream" }),
      body: JSON.stringify({ text: message, conversation: chat.dataset.conversation, attachments }),
    });
    if (!res.ok) {
      const body = await res.json().catch(() => ({}));
      return void li.append(el("div", "error", body.error?.message ?? `failed (${res.status})`));
    }
    await follow(res, li, { runId: null, offset: 0, text: "" });
  });
  text.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) form.requestSubmit();
  });
  // A reply that was streaming when the page was left: resume after the last offset shown.
  const pending = JSON.parse(sessionStorage.getItem(KEY) ?? "null");
  if (pending?.runId) {
    const answered = [...transcript.querySelectorAll("li.m-assistant")].some((m) => m.dataset.run === pending.runId);
    if (answered) save(null);
    else {
      const li = bubble("assistant", pending.text);
      li.dataset.resumed = "1";
      fetch(`/v1/runs/${encodeURIComponent(pending.runId)}/stream?from=${pending.offset + 1}`, { headers: headers() })
        .then((res) => (res.ok ? follow(res, li, pending) : save(null)))
        .catch(() => {});
    }
  }
}
