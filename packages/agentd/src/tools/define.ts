import type { z } from "zod";
import type { Tool } from "./types.ts";

/** What model APIs accept as a function name. */
const NAME = /^[A-Za-z0-9_]{1,64}$/;

/** A tool as written: its input schema, and a body that receives what that schema outputs. */
export type ToolSpec<S extends z.ZodType> = Omit<Tool<z.output<S>>, "input"> & { input: S };

/**
 * Defines a tool: the arguments its body, `subject` and `always` receive are typed from the zod
 * schema of its input (the registry validates the model's arguments against it before the body
 * runs). Refuses a name model APIs would reject, and an empty description, at definition time.
 */
export function defineTool<S extends z.ZodType>(spec: ToolSpec<S>): Tool<z.output<S>> {
  if (typeof spec.name !== "string" || !NAME.test(spec.name))
    throw new TypeError(
      `defineTool: the name ${JSON.stringify(spec.name)} must be 1 to 64 letters, digits or underscores (what model APIs accept).`,
    );
  if (typeof spec.description !== "string" || spec.description.trim() === "")
    throw new TypeError(
      `defineTool("${spec.name}"): give it a description, one short sentence the model reads with every call.`,
    );
  return spec as Tool<z.output<S>>;
}
