import { toMs } from "@agentd/kernel";
import { z } from "zod";

// The kinds of values environment variables take, and the registry of their documentation
// (variables.ts holds the schema; a section of many variables may live in a file of its own).

export type Section =
  | "store"
  | "server"
  | "model"
  | "agent"
  | "web tools"
  | "media"
  | "sandbox"
  | "mcp"
  | "connections"
  | "vault"
  | "telegram"
  | "twilio"
  | "whatsapp"
  | "serverless"
  | "client";

export interface VariableMeta {
  section: Section;
  /** What it sets, in a phrase or two. */
  doc: string;
  /** The default, as shown (absent: unset means off or none). */
  default?: string;
  /** Its value never appears in a message (keys, tokens, URLs that may carry credentials). */
  secret?: boolean;
}

export const variables = z.registry<VariableMeta>();
const register = variables.add.bind(variables) as (schema: z.ZodType, meta: VariableMeta) => unknown;
export const v = <T extends z.ZodType>(schema: T, meta: VariableMeta): T => {
  register(schema, meta);
  return schema;
};

export const int = (min: number, max: number, what = `a whole number from ${min} to ${max}`) =>
  z
    .string()
    .regex(/^\d+$/, `it must be ${what}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `it must be ${what}`).max(max, `it must be ${what}`));

export const url = (protocols: string[], example: string) =>
  z.string().refine(
    (s) => {
      try {
        return protocols.includes(new URL(s).protocol);
      } catch {
        return false;
      }
    },
    `it must be a URL starting with ${protocols.map((p) => `${p}//`).join(" or ")}, e.g. ${example}`,
  );

export const flag = z
  .enum(["0", "1", "true", "false"], { error: "it must be 1 (on) or 0 (off)" })
  .transform((s) => s === "1" || s === "true");

export const timeZone = z
  .string()
  .refine(
    isTimeZone,
    "it must be an IANA time zone such as Europe/Paris or America/New_York (see `timedatectl list-timezones`)",
  );

function isDuration(s: string): boolean {
  try {
    return toMs(s) > 0;
  } catch {
    return false;
  }
}

export const duration = z.string().refine(isDuration, 'it must be a duration such as "30m", "24h" or "7d"');

/** A retention age: a duration, or "forever". */
export const kept = z
  .string()
  .refine((s) => s === "forever" || isDuration(s), 'it must be a duration such as "7d" or "36h", or "forever"');

/** True for a time zone this Node knows (IANA names, "UTC"). */
export function isTimeZone(zone: string): boolean {
  // Known without Intl, whose first zone loads some 5 MB of ICU data (the kernel's schedules in UTC skip it too).
  if (zone === "UTC") return true;
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
