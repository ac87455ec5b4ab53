import { z } from "zod";
import { settle } from "./actions.ts";
import type { BrowserManager } from "./manager.ts";

/** What the person's live view forwards: a click at a point of the screenshot, typed text, a key. */
export const LiveInput = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("click"), x: z.number().min(0).max(4000), y: z.number().min(0).max(4000) }),
  z.object({ kind: z.literal("type"), text: z.string().min(1).max(500) }),
  z.object({
    kind: z.literal("key"),
    key: z.string().regex(/^[A-Za-z0-9+]{1,30}$/, { error: "a key name such as Enter, Tab or Control+a" }),
  }),
  z.object({ kind: z.literal("scroll"), dy: z.number().min(-5000).max(5000) }),
]);
export type LiveInput = z.infer<typeof LiveInput>;

/** The tenant's active page as the person sees it: a PNG of the viewport, its URL and title. */
export async function liveScreen(m: BrowserManager, tenantId: string): Promise<{ png: Uint8Array; url: string }> {
  return m.use(tenantId, async (s) => {
    const page = await s.page();
    return { png: await page.screenshot({ type: "png" }), url: page.url() };
  });
}

/**
 * One input of the person's on the tenant's active page, through the same context (and so the same
 * network guard) as the agent's own steps; the state is saved after it, as after every step.
 */
export async function liveInput(m: BrowserManager, tenantId: string, input: LiveInput): Promise<void> {
  await m.use(tenantId, async (s) => {
    const page = await s.page();
    // What the input starts (a form's post, a navigation) finishes before the state is saved after it.
    await settle(page, async () => {
      switch (input.kind) {
        case "click":
          return page.mouse.click(input.x, input.y);
        case "type":
          return page.keyboard.type(input.text);
        case "key":
          return page.keyboard.press(input.key);
        case "scroll":
          return page.mouse.wheel(0, input.dy);
      }
    });
  });
}
