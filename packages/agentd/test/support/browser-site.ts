// A small web site served on 127.0.0.1 by a test, for the browser tool: a login that sets a cookie,
// a list rendered by JavaScript, a form that posts, a file download, a redirect to a private address,
// an iframe, a page whose subresources reach for private addresses, and widgets that hover, keys and
// scrolling change.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Site {
  url: string;
  host: string;
  /** Every form post received: path and fields. */
  posts: { path: string; fields: Record<string, string> }[];
  /** Every path requested with GET, in order. */
  gets: string[];
  /** Bytes of /big.bin (a 4 MB download sent slowly) written before it ended or its reader left. */
  bigSent: number;
  /** Runs `fn` before answering the next GET of `path` (once): a test can hold a page or kill a worker there. */
  once(path: string, fn: () => Promise<void>): void;
  close(): Promise<void>;
}

const page = (title: string, body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`;

function userOf(req: IncomingMessage): string | null {
  const m = /(?:^|;\s*)session=([a-z0-9_-]+)/.exec(req.headers.cookie ?? "");
  return m ? m[1]! : null;
}

export async function startSite(): Promise<Site> {
  const posts: Site["posts"] = [];
  const gets: string[] = [];
  let bigSent = 0;
  const hooks = new Map<string, () => Promise<void>>();
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    let raw = "";
    for await (const c of req) raw += c;
    const u = new URL(req.url ?? "/", "http://x");
    if (req.method === "GET") gets.push(u.pathname);
    const hook = req.method === "GET" ? hooks.get(u.pathname) : undefined;
    if (hook) {
      hooks.delete(u.pathname);
      await hook();
    }
    const html = (status: number, body: string, headers: Record<string, string | string[]> = {}) =>
      res.writeHead(status, { "content-type": "text/html; charset=utf-8", ...headers }).end(body);
    if (req.method === "POST") {
      const fields = Object.fromEntries(new URLSearchParams(raw));
      posts.push({ path: u.pathname, fields });
      if (u.pathname === "/login") {
        const user = (fields.username ?? "").toLowerCase().replace(/[^a-z0-9_-]/g, "");
        if (!user || fields.password !== `${user}-pw`)
          return html(401, page("Login failed", "<h1>Wrong username or password</h1><a href='/login'>Try again</a>"));
        return html(303, "", {
          location: "/account",
          "set-cookie": [`session=${user}; Path=/; HttpOnly; Max-Age=3600`, "seen=1; Path=/"],
        });
      }
      if (u.pathname === "/form")
        return html(
          200,
          page(
            "Thanks",
            `<h1>Thanks, ${escapeHtml(fields.name ?? "")}</h1><p>You chose ${escapeHtml(fields.color ?? "")}.</p>`,
          ),
        );
      return html(404, page("Not found", "<h1>Not found</h1>"));
    }
    switch (u.pathname) {
      case "/":
        return html(
          200,
          page(
            "Harbour shop",
            `<h1>Harbour shop</h1><nav><a href="/login">Sign in</a> <a href="/account">Account</a> <a href="/list">Boats</a> <a href="/form">Order</a> <a href="/files">Files</a> <a href="/frame">Frame</a></nav>`,
          ),
        );
      case "/login":
        return html(
          200,
          page(
            "Sign in",
            `<h1>Sign in</h1><form method="post" action="/login"><label>Username <input name="username"></label><label>Password <input name="password" type="password"></label><button type="submit">Sign in</button></form>`,
          ),
        );
      case "/account":
      case "/me": {
        const user = userOf(req);
        return html(
          200,
          page(
            "Account",
            user
              ? `<h1>Signed in as ${user}</h1><a href="/">Home</a>`
              : `<h1>Not signed in</h1><a href="/login">Sign in</a>`,
          ),
        );
      }
      case "/list":
        return html(
          200,
          page(
            "Boats",
            `<h1>Boats</h1><ul id="boats"></ul><script>
          fetch("/api/boats").then(r => r.json()).then(list => { for (const b of list) { const li = document.createElement("li"); li.textContent = b; document.getElementById("boats").append(li); } document.title = "Boats (" + list.length + ")"; });
        </script>`,
          ),
        );
      case "/api/boats":
        return res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify(["Kestrel", "Osprey", "Tern"]));
      case "/form":
        return html(
          200,
          page(
            "Order",
            `<h1>Order</h1><form method="post" action="/form"><label>Name <input name="name"></label><label>Colour <select name="color"><option>red</option><option>green</option><option>blue</option></select></label><button>Send order</button></form>`,
          ),
        );
      case "/files":
        return html(
          200,
          page(
            "Files",
            `<h1>Files</h1><a href="/tides.csv" download>Tide table (CSV)</a> <a href="/big.bin" download>Chart archive</a><form><label>Attach <input type="file" name="f"></label></form>`,
          ),
        );
      case "/tides.csv":
        return res
          .writeHead(200, { "content-type": "text/csv", "content-disposition": 'attachment; filename="tides.csv"' })
          .end("day,high\nmon,06:42\ntue,07:30\n");
      case "/big.bin": {
        // 4 MB in 64 KB pieces, 20 ms apart, with no length announced: only counting stops it early.
        res.writeHead(200, {
          "content-type": "application/octet-stream",
          "content-disposition": 'attachment; filename="charts.bin"',
        });
        for (let i = 0; i < 64 && !res.destroyed; i++) {
          await new Promise((r) => setTimeout(r, 20));
          if (!res.write(Buffer.alloc(65_536, i))) await new Promise((r) => res.once("drain", r).once("close", r));
          if (!res.destroyed) bigSent += 65_536;
        }
        return void res.end();
      }
      case "/go-metadata":
        return html(302, "", { location: "http://169.254.169.254/latest/meta-data/" });
      case "/go-private":
        return html(302, "", { location: "http://10.20.30.40/admin" });
      case "/leaky":
        return html(
          200,
          page(
            "Leaky",
            `<h1>Leaky</h1><img src="http://10.20.30.40/pixel.png"><script>fetch("http://169.254.169.254/latest/meta-data/").catch(() => {}); try { new WebSocket("ws://10.20.30.41:9000/"); } catch {}</script>`,
          ),
        );
      case "/sw":
        return html(
          200,
          page(
            "Worker",
            `<h1>Worker</h1><p id="sw">sw: trying</p><script>
          const say = (t) => { document.getElementById("sw").textContent = t; };
          try {
            navigator.serviceWorker.register("/sw.js").then(() => navigator.serviceWorker.ready).then(() => say("sw: registered"), () => say("sw: refused"));
          } catch (e) { say("sw: refused (" + e.name + ")"); }
        </script>`,
          ),
        );
      case "/sw.js":
        return res
          .writeHead(200, { "content-type": "text/javascript" })
          .end("self.addEventListener('fetch', () => {});");
      case "/widgets":
        // What hover, press and scroll change (each says so in a paragraph), and a link nested deep.
        return html(
          200,
          page(
            "Widgets",
            `<h1>Widgets</h1><button onmouseenter="document.getElementById('tip').textContent='menu open'">Menu</button><p id="tip">menu closed</p>
<label>Search <input id="q" onkeydown="if (event.key === 'Enter') document.getElementById('said').textContent = 'searched ' + this.value"></label><p id="said">nothing searched</p>
<p id="pos">at the top</p><main><section><div><ul><li><a href="/">Deep link</a></li></ul></div></section></main>
<div style="height:4000px"></div><p>The end</p>
<script>addEventListener("scroll", () => { document.getElementById("pos").textContent = scrollY > 0 ? "scrolled down" : "at the top"; });</script>`,
          ),
        );
      case "/frame":
        return html(200, page("Frame", `<h1>Outer</h1><iframe src="/inner" title="inner"></iframe>`));
      case "/inner":
        return html(
          200,
          page(
            "Inner",
            `<p id="said">not yet</p><button onclick="document.getElementById('said').textContent='inner clicked'">Inner button</button>`,
          ),
        );
      default:
        return html(404, page("Not found", "<h1>Not found</h1>"));
    }
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    posts,
    gets,
    get bigSent() {
      return bigSent;
    },
    once: (path, fn) => void hooks.set(path, fn),
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
