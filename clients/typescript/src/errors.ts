/**
 * One error type for everything the client refuses or the server answers with a problem.
 *
 *     TracemarkError            code (stable snake_case), message (safe to show), status
 *       status > 0              an RFC 9457 problem from the server (docs/api.md, "Errors")
 *       status 0                refused here: a network failure or timeout (``network_error``,
 *                               ``timeout``), a bad trust bundle (``invalid_bundle``,
 *                               ``bundle_signature``, ``bundle_origin``, ``bundle_too_old``,
 *                               ``bundle_from_future``), a webhook that does not verify
 *                               (``webhook_*``)
 *
 * A counterfeit code is a verdict, never an error.
 */

/** The body of an error answer (``application/problem+json``). */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  error?: { code?: string; message?: string };
  [key: string]: unknown;
}

export class TracemarkError extends Error {
  override name = "TracemarkError";
  /** What programs compare: ``rate_limited``, ``api_key_invalid``, ``bundle_too_old`` ... */
  readonly code: string;
  /** The HTTP status of a server answer; 0 when the client refused on its own. */
  readonly status: number;
  /** The whole problem document, when the server sent one. */
  readonly problem: Problem | undefined;
  /** The server's ``X-Request-ID``: quote it when reporting a problem. */
  readonly requestId: string | undefined;

  constructor(
    code: string,
    message: string,
    options: { status?: number; problem?: Problem; requestId?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status ?? 0;
    this.problem = options.problem;
    this.requestId = options.requestId;
  }
}
