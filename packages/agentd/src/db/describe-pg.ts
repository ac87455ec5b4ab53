/** host:port/database of a Postgres URL, for messages: never its password. */
export function describePg(url: string | undefined): string {
  if (!url) return "";
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return "postgres";
  }
}
