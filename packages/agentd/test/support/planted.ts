import assert from "node:assert/strict";

/**
 * A planted-secret check: none of `secrets` (tokens the test's stand-ins issued) is found in any of
 * `places` (what the model was sent, the journal, the logs, API answers, stored bytes, by name).
 * Each secret must be long enough that finding it would not be chance, and some must be given.
 */
export function assertNowhere(secrets: readonly { kind: string; value: string }[], places: Record<string, string>) {
  assert.ok(secrets.length > 0, "the stand-ins issued the secrets the check looks for");
  for (const s of secrets) {
    assert.ok(s.value.length >= 20, `the ${s.kind} is long enough to be found only if it leaked`);
    for (const [where, text] of Object.entries(places))
      assert.ok(!text.includes(s.value), `the ${s.kind} ${s.value.slice(0, 4)}… is not in ${where}`);
  }
}

/**
 * The planted-secret check of an end-to-end test against a real `agentd start`: after the last
 * process is gone, the run's journal, every stored byte, what the model was sent, the chat and
 * everything agentd wrote (its logs) hold none of `secrets`. Closes `kernel` (to read the store whole).
 */
export async function assertNowhereAfterE2e(
  secrets: readonly { kind: string; value: string }[],
  e: {
    kernel: { journal(runId: string): Promise<unknown>; close(): Promise<void> };
    runId: string;
    stored: () => Promise<string>;
    modelRequests: readonly { raw: string }[];
    chat: unknown;
    output: readonly string[];
  },
) {
  assert.ok(e.output.join("").includes("agentd ready"), "the check reads agentd's output");
  const journal = JSON.stringify(await e.kernel.journal(e.runId));
  await e.kernel.close();
  assertNowhere(secrets, {
    "the journal": journal,
    "any stored byte": await e.stored(),
    "model requests": e.modelRequests.map((r) => r.raw).join("\n"),
    "the chat": JSON.stringify(e.chat),
    "agentd's logs": e.output.join(""),
  });
}
