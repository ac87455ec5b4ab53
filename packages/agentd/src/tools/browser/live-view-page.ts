/**
 * The live view a person gets in a handoff: the tenant's page as a screenshot refreshed every second;
 * a click on it, text typed in the box and the keys below are forwarded to the page; Done ends the
 * handoff and the agent carries on. Every request names the link's token in its path, which is all
 * the page knows (no cookie, no token elsewhere).
 */
export const LIVE_VIEW_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Take over the browser</title>
<style>body{font:15px system-ui,sans-serif;margin:12px}img{max-width:100%;border:1px solid #888;cursor:crosshair}
form{display:inline}button,input{font:inherit;margin:4px 4px 4px 0}#done{background:#1a7f37;color:#fff}</style></head>
<body>
<p>Finish what the assistant asked for on this page (click on it, type, press keys), then press <b>Done</b>.</p>
<p><form id="t"><input id="text" autocomplete="off" placeholder="text to type"><button>Type</button></form>
<button data-key="Enter">Enter</button><button data-key="Tab">Tab</button><button data-key="Backspace">Backspace</button>
<button data-scroll="600">Scroll down</button><button data-scroll="-600">Scroll up</button>
<button id="done">Done</button> <span id="status"></span></p>
<img id="screen" alt="the page">
<script>
const base = location.pathname.replace(/\\/$/, "");
const img = document.getElementById("screen"), status = document.getElementById("status");
const refresh = () => { img.src = base + "/screen?" + Date.now(); };
img.onload = () => setTimeout(refresh, 1000);
img.onerror = () => { status.textContent = "This link has ended."; };
const send = async (input) => {
  const r = await fetch(base + "/input", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(input) });
  status.textContent = r.ok ? "" : (await r.json().catch(() => ({}))).message || "That did not work.";
};
img.onclick = (e) => {
  const r = img.getBoundingClientRect();
  send({ kind: "click", x: (e.clientX - r.left) * img.naturalWidth / r.width, y: (e.clientY - r.top) * img.naturalHeight / r.height });
};
document.getElementById("t").onsubmit = (e) => { e.preventDefault(); const t = document.getElementById("text"); if (t.value) send({ kind: "type", text: t.value }); t.value = ""; };
for (const b of document.querySelectorAll("[data-key]")) b.onclick = () => send({ kind: "key", key: b.dataset.key });
for (const b of document.querySelectorAll("[data-scroll]")) b.onclick = () => send({ kind: "scroll", dy: Number(b.dataset.scroll) });
document.getElementById("done").onclick = async () => {
  const r = await fetch(base + "/done", { method: "POST" });
  document.body.textContent = r.ok ? "Thank you: the assistant carries on." : "This link has ended.";
};
refresh();
</script></body></html>`;
