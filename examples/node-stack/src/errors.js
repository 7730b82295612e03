// The errors the routes answer with. Each knows its status, a stable `error` code for the body
// and any headers it adds; the error handler in app.js turns them into responses, and errors
// from libraries (pg, opossum, fetch) are converted into these where they are caught.

export class HttpError extends Error {
  constructor (statusCode, code, message, { headers = {}, body = {}, cause } = {}) {
    super(message, { cause })
    this.name = 'HttpError'
    this.statusCode = statusCode
    this.code = code
    this.headers = headers
    this.body = body
  }
}

/** The whole-request deadline passed before an answer was ready. */
export class DeadlineExceeded extends HttpError {
  constructor (ms) {
    super(504, 'deadline_exceeded', `no answer within the ${ms} ms request deadline`)
  }
}

/** No pooled connection within the acquire timeout: the database is saturated or slow. */
export class DatabaseBusy extends HttpError {
  constructor (cause) {
    super(503, 'database_busy', 'no database connection available, try again shortly',
      { headers: { 'retry-after': '1' }, cause })
  }
}

/** The database could not be reached, retries included. */
export class DatabaseUnavailable extends HttpError {
  constructor (cause) {
    super(503, 'database_unavailable', 'the database is unavailable', { cause })
  }
}

/** The summarizer's circuit is open: answered at once, without calling it. */
export class SummarizerCircuitOpen extends HttpError {
  constructor () {
    super(503, 'summarizer_unavailable', 'summaries are temporarily unavailable',
      { headers: { 'x-summarizer-circuit': 'open' }, body: { degraded: true } })
  }
}

export class SummarizerTimeout extends HttpError {
  constructor (ms, cause) {
    super(504, 'summarizer_timeout', `the summarizer did not answer within ${ms} ms`, { cause })
  }
}

export class SummarizerFailed extends HttpError {
  constructor (cause) {
    super(502, 'summarizer_failed', 'the summarizer failed', { cause })
  }
}
