// The whole-request deadline: a request not answered within HTTP_DEADLINE_S of arriving is
// answered 504, whatever it was waiting for. The clock starts in onRequest, so time spent in
// hooks (auth, rate limiting, body parsing) counts; handlers run their work through
// `withinDeadline`, which also hands the work an AbortSignal to pass on (fetch, retries).
import { DeadlineExceeded } from './errors.js'

const NEVER = new AbortController().signal

export function installDeadline (app, config) {
  app.decorateRequest('deadline', null)
  if (!config.deadline.enabled) {
    app.addHook('onRequest', async (request) => {
      request.deadline = { signal: NEVER, timer: null }
    })
    return
  }
  const ms = config.deadline.ms
  app.addHook('onRequest', async (request) => {
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(new DeadlineExceeded(ms)), ms)
    timer.unref()
    request.deadline = { signal: controller.signal, timer }
  })
  const clear = async (request) => clearTimeout(request.deadline?.timer)
  app.addHook('onResponse', clear)
  app.addHook('onRequestAbort', clear)
}

/** Run `work(signal)`; reject with DeadlineExceeded as soon as the request's deadline passes. */
export function withinDeadline (request, work) {
  const { signal } = request.deadline
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    work(signal)
      .then(resolve, reject)
      .finally(() => signal.removeEventListener('abort', onAbort))
  })
}
