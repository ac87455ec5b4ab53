/** Errors of the OS layer carry an HTTP status and a reason a person can act on. */
export class OsError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.name = "OsError";
  }
  static is(e: unknown): e is OsError {
    return e instanceof OsError;
  }
}

export const notFound = (what: string) => new OsError(404, "not_found", `${what} not found`);
export const badRequest = (why: string) => new OsError(400, "bad_request", why);
export const conflict = (why: string) => new OsError(409, "conflict", why);
