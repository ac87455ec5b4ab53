import type { Store } from "../src/index.ts";
import { tempStore as conformanceTempStore } from "../src/conformance/helpers.ts";
import { type Backend, sqlite } from "./backends.ts";

export { closes, fakeKernel, gate, statusOf, until } from "../src/conformance/helpers.ts";

/** A fresh, empty store of the given backend (SQLite by default), removed when the test ends. */
export function tempStore(
  t: { after(fn: () => unknown): void },
  backend: Backend = sqlite,
): Promise<{ store: Store; open(): Promise<Store>; where: string }> {
  return conformanceTempStore(t, backend);
}
