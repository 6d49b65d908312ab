/**
 * RFC 9457 problem details. Everything the API refuses is one of these; `errors` carries
 * field-level details (JSON pointer-like paths) for 400 and 422.
 */
export interface FieldError {
  path: string;
  message: string;
}

export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly extra: { errors?: FieldError[]; headers?: Record<string, string> } = {},
  ) {
    super(detail ?? title);
  }
}

export const unauthorized = (detail: string) =>
  new Problem(401, 'Unauthorized', detail, { headers: { 'WWW-Authenticate': 'Bearer realm="safeshipper", error="invalid_token"' } });
export const forbidden = (detail: string) => new Problem(403, 'Forbidden', detail);
export const notFound = (detail = 'No such resource') => new Problem(404, 'Not Found', detail);
export const validationFailed = (errors: FieldError[], status: 400 | 422 = 422) =>
  new Problem(status, status === 400 ? 'Bad Request' : 'Unprocessable Content', 'The request did not pass validation', { errors });
