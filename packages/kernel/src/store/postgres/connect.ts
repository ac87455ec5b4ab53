import pg from "pg";
import { StoreUnreachableError } from "../../errors.ts";

/** Numbers come back as numbers: our BIGINT columns hold epoch milliseconds, far below 2^53. */
export const pgTypes = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
};

/** host:port/database, for messages; never the password. */
export function describeUrl(url: string): {
  where: string;
  host: string;
  port: string;
  database: string;
  user: string;
} {
  try {
    const u = new URL(url);
    const host = u.hostname || "localhost";
    const port = u.port || "5432";
    const database = decodeURIComponent(u.pathname.replace(/^\//, "")) || "(default)";
    const user = decodeURIComponent(u.username) || "(default)";
    return { where: `${host}:${port}/${database}`, host, port, database, user };
  } catch {
    return { where: "(unparsable DATABASE_URL)", host: "?", port: "?", database: "?", user: "?" };
  }
}

/** Turns a connection failure into one line that names host, port and the cause, and says what to do. */
export function connectionError(url: string, e: unknown): StoreUnreachableError {
  const d = describeUrl(url);
  const err = e as { code?: string; message?: string };
  const causes: Record<string, string> = {
    ECONNREFUSED: "connection refused (no server listening there)",
    ENOTFOUND: `host "${d.host}" not found`,
    EAI_AGAIN: `host "${d.host}" could not be resolved`,
    ETIMEDOUT: "connection timed out",
    "28P01": `password authentication failed for user "${d.user}"`,
    "28000": `the server refused user "${d.user}" (check pg_hba.conf and the user name)`,
    "3D000": `database "${d.database}" does not exist (create it, or point DATABASE_URL at another)`,
  };
  const cause = (err.code && causes[err.code]) || err.message || String(e);
  return new StoreUnreachableError(
    `cannot use Postgres at ${d.host}:${d.port} (database ${d.database}): ${cause}. Check DATABASE_URL and that the server is up.`,
    { cause: e },
  );
}

export function isInvalidUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol !== "postgres:" && u.protocol !== "postgresql:";
  } catch {
    return true;
  }
}

/** The URL with its password masked, for messages. */
export function redact(url: unknown): unknown {
  return typeof url === "string" ? url.replace(/\/\/([^:/@]*):[^@]*@/, "//$1:***@") : url;
}
