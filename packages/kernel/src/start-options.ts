import { checkText } from "./commands/names.ts";
import { toMs } from "./duration.ts";
import { InvalidArgumentError } from "./errors.ts";
import { encodeJson } from "./json.ts";
import type { StartOptions } from "./kernel-types.ts";
import type { Workflow } from "./workflow.ts";

/**
 * What kernel.start() stores for a run of `wf` with `input` and `options`: the namespace (default
 * "default"), the input as JSON, the run's timeout. Bad options are refused here, saying what is accepted.
 */
export function startParameters(
  wf: Workflow<never, unknown>,
  input: unknown,
  options: StartOptions,
  maxValueBytes: number,
): { namespace: string; json: string | null; timeoutMs: number | null } {
  if (
    options.key !== undefined &&
    (typeof options.key !== "string" || options.key.length === 0 || options.key.length > 512)
  )
    throw new InvalidArgumentError(
      `the idempotency key must be a string of 1 to 512 characters, got ${JSON.stringify(options.key)}.`,
    );
  const namespace = options.namespace ?? "default";
  if (typeof namespace !== "string" || namespace.length === 0 || namespace.length > 200)
    throw new InvalidArgumentError(
      `the namespace must be a string of 1 to 200 characters, got ${JSON.stringify(namespace)}.`,
    );
  checkText("the namespace", namespace);
  if (options.key !== undefined) checkText("the idempotency key", String(options.key));
  const json = encodeJson(input, `the input of workflow "${wf.name}"`, maxValueBytes);
  const timeoutMs = options.timeout === undefined ? wf.timeoutMs : toMs(options.timeout);
  if (
    options.ifInputDiffers !== undefined &&
    options.ifInputDiffers !== "return" &&
    options.ifInputDiffers !== "refuse"
  )
    throw new InvalidArgumentError(
      `ifInputDiffers must be "return" or "refuse", got ${JSON.stringify(options.ifInputDiffers)}.`,
    );
  return { namespace, json, timeoutMs };
}
