/** What went wrong with a request that got no answer, in words. */
export function networkCause(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? (e as { code?: string }).code;
  if (code === "ECONNREFUSED") return "connection refused (nothing listens there)";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "the host name does not resolve";
  if (code === "ECONNRESET") return "the connection was cut";
  if (code === "UND_ERR_CONNECT_TIMEOUT" || (e as Error).name === "TimeoutError") return "no answer in time";
  return cause?.message ?? (e as Error).message ?? String(e);
}
