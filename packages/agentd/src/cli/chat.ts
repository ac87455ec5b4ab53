import { type CommandInput, parseCommand } from "./args.ts";
import { type ApiClient, readSse } from "./client.ts";
import { connect } from "./connect.ts";
import { Lines } from "./lines.ts";

const LOCAL_TENANT = "local";
const CHANNEL = "terminal";

/** A file of a reply, as the stream's `done` event names it. */
interface FileRef {
  id: string;
  mime: string;
  size: number;
  name?: string;
}

interface Accepted {
  sessionId: string;
  messageId: string;
  runId: string;
  duplicate: boolean;
}

/** `agentd chat`: a conversation in the terminal, with the agentd at --url or one run in this process. */
export async function chat(input: CommandInput): Promise<number> {
  const p = parseCommand(input, {
    tenant: { type: "string" },
    conversation: { type: "string" },
    url: { type: "string" },
  });
  const conversation = (p.values.conversation as string | undefined) ?? "cli";
  const target = await connect(input, p);
  const quit = new AbortController();
  const interrupt = () => quit.abort();
  process.on("SIGINT", interrupt);
  process.on("SIGTERM", interrupt);
  const lines = new Lines(process.stdin, process.stdout, interrupt);
  quit.signal.addEventListener(
    "abort",
    () => {
      if (lines.interactive) process.stdout.write("\n"); // leave the prompt's line
      lines.close();
    },
    { once: true },
  );
  const runIds: string[] = [];
  try {
    if (target.embedded) {
      process.stderr.write(
        `(no agentd answers at ${target.asked}: running one in this process, on ${target.embedded})\n`,
      );
      if (target.modelHint) process.stderr.write(`(${target.modelHint})\n`);
    }
    const { client } = target;
    if (target.admin && p.values.tenant) {
      client.tenant = p.values.tenant as string;
      await client.api.v1.tenants[":id"].$get({ param: { id: encodeURIComponent(client.tenant) } }); // an unknown tenant fails here, before any input is read
    } else if (target.admin) client.tenant = await localTenant(client);
    else if (p.values.tenant) client.tenant = p.values.tenant as string;
    if (lines.interactive)
      process.stdout.write(
        `talking to tenant ${client.tenant ?? "(of the API key)"}, conversation "${conversation}"; /exit quits\n`,
      );
    let failed = false;
    for (;;) {
      const line = await lines.next("> ");
      if (line === null) break;
      const text = line.trim();
      if (text === "") continue;
      if (text === "/exit" || text === "/quit") break;
      const turn = await exchange(client, lines, { text, conversation, channel: CHANNEL }, quit.signal);
      if (turn.runId) runIds.push(turn.runId);
      if (!turn.ok) failed = true;
      if (quit.signal.aborted) break;
    }
    return failed ? 1 : 0;
  } finally {
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
    lines.close();
    await target.close(quit.signal.aborted ? [] : runIds);
  }
}

/** The tenant named "local" (the operator's own), created on first use. */
async function localTenant(client: ApiClient): Promise<string> {
  let after = "";
  for (;;) {
    const page = await (await client.api.v1.tenants.$get({ query: { limit: "500", after } })).json();
    const found = page.tenants.find((t) => t.name === LOCAL_TENANT);
    if (found) return found.id;
    if (page.tenants.length < 500) break;
    after = page.tenants.at(-1)!.id;
  }
  const made = await (await client.api.v1.tenants.$post({ json: { name: LOCAL_TENANT } })).json();
  return made.tenant.id;
}

/**
 * Sends one message and shows the reply as it streams: text as it comes, tool use and approval
 * requests on lines of their own (asking y/a/n and posting the decision). `ok` is false if the turn failed.
 */
async function exchange(
  client: ApiClient,
  lines: Lines,
  message: { text: string; conversation: string; channel: string },
  signal: AbortSignal,
): Promise<{ ok: boolean; runId: string | null }> {
  const out = new Output();
  let runId: string | null = null;
  try {
    const res = await client.api.v1.messages.$post(
      { json: message },
      { headers: { accept: "text/event-stream" }, init: { signal } },
    );
    for await (const ev of res.body ? readSse(res.body) : []) {
      const d = (ev.data ?? {}) as Record<string, unknown>;
      switch (ev.event) {
        case "accepted":
          runId = (d as Partial<Accepted>).runId ?? null;
          break;
        case "start":
          // A second attempt of the same model call: what the failed one printed is void.
          if (Number(d.attempt) > 1) out.note(`(the model call failed; trying again, attempt ${d.attempt})`);
          out.streamed = false;
          break;
        case "text":
          out.text(String(d.d ?? ""));
          break;
        case "tool":
          out.note(`[${d.name}] ${d.subject ?? ""}`.trimEnd());
          out.streamed = false;
          break;
        case "approval": {
          out.note(`[approval] ${d.tool} wants: ${d.subject ?? ""}`);
          // "Always" allows what the approval said (a host and a secret), never more.
          const decision = await ask(lines, String(d.always ?? `every call of ${d.tool}`));
          await client.api.v1.approvals[":id"].$post({
            param: { id: encodeURIComponent(String(d.id)) },
            json: { decision },
          });
          break;
        }
        case "handoff":
          // The agent waits for the person to finish in the browser (a login): the link is theirs to open.
          out.note(`[handoff] ${d.subject ?? ""}: open ${d.link} , finish there and press Done`);
          out.streamed = false;
          break;
        case "unavailable":
          // The model cannot answer now; the turn keeps trying, and fails (for `agentd runs retry`) if it never can.
          out.note(String(d.text ?? ""));
          out.streamed = false;
          break;
        case "done":
          if (!out.streamed) out.text(String(d.text ?? ""));
          // Files the reply sends (a screenshot): a link each, read with this tenant's token.
          for (const f of Array.isArray(d.files) ? (d.files as FileRef[]) : [])
            out.note(`[file] ${f.name ?? f.id} (${f.mime}, ${f.size} bytes): ${client.url}/v1/blobs/${f.id}`);
          out.end();
          return { ok: true, runId };
        case "error":
          out.end();
          process.stderr.write(`agentd: ${d.message ?? "the turn failed"}\n`);
          return { ok: false, runId };
        case "end":
          out.end();
          process.stderr.write(`agentd: the turn ended (${d.status}) without a reply\n`);
          return { ok: d.status === "completed", runId };
      }
    }
  } catch (e) {
    if (signal.aborted) {
      out.end();
      return { ok: true, runId };
    }
    throw e;
  }
  out.end();
  return { ok: true, runId };
}

/** y: this call once; a: always, for this tool; n: deny. The end of input denies. */
async function ask(lines: Lines, always: string): Promise<"once" | "always" | "deny"> {
  for (;;) {
    if (!lines.interactive) process.stdout.write(`allow? y = this once, a = always (${always}), n = deny\n`);
    const answer = await lines.next(`allow? [y]es once / [a]lways (${always}) / [n]o: `);
    if (answer === null) return "deny";
    const a = answer.trim().toLowerCase();
    if (a === "y" || a === "yes") return "once";
    if (a === "a" || a === "always") return "always";
    if (a === "n" || a === "no") return "deny";
  }
}

/** Writes a streamed reply to stdout, keeping notes (tools, approvals) on lines of their own. */
class Output {
  /** True when the current model call's text has been written (else `done` writes the whole reply). */
  streamed = false;
  #atLineStart = true;

  text(s: string): void {
    if (!s) return;
    process.stdout.write(s);
    this.streamed = true;
    this.#atLineStart = s.endsWith("\n");
  }

  note(line: string): void {
    if (!this.#atLineStart) process.stdout.write("\n");
    process.stdout.write(`${line}\n`);
    this.#atLineStart = true;
  }

  end(): void {
    if (!this.#atLineStart) process.stdout.write("\n");
    this.#atLineStart = true;
  }
}
