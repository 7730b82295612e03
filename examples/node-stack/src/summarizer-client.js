// The call to the summarizer upstream (the "AI" dependency): fetch, retried with exponential
// backoff (p-retry), inside a circuit breaker (opossum).
//
// One breaker call is one summary: its attempts and the backoff between them, all under one
// timeout. So the breaker counts failed *summaries*, not failed attempts, and a summary never
// takes longer than the timeout however the attempts go. A timed-out attempt is not retried
// (the upstream is hanging, not blinking); refused or reset connections and 5xx answers are.
import { setTimeout as sleep } from 'node:timers/promises'

import CircuitBreaker from 'opossum'
import pRetry from 'p-retry'

import { CIRCUIT_STATES } from './metrics.js'
import { SummarizerCircuitOpen, SummarizerFailed, SummarizerTimeout } from './errors.js'

/** The upstream answered, and said no (4xx): the request's fault, not the upstream's. */
class UpstreamRejected extends Error {
  constructor (status) {
    super(`summarizer answered ${status}`)
    this.name = 'UpstreamRejected'
    this.status = status
  }
}

class UpstreamError extends Error {
  constructor (status, retryAfterMs = null) {
    super(`summarizer answered ${status}`)
    this.name = 'UpstreamError'
    this.status = status
    this.retryAfterMs = retryAfterMs
  }
}

// Retry-After in delay-seconds (RFC 9110); an HTTP date is a clock we need not share: ignored
function retryAfterMs (response) {
  const raw = (response.headers.get('retry-after') ?? '').trim()
  return /^\d+$/.test(raw) ? Number(raw) * 1000 : null
}

function isTimeout (err) {
  return err?.name === 'TimeoutError' || err?.code === 'ETIMEDOUT' || err?.name === 'AbortError'
}

function retryable (err, everyStatus) {
  if (isTimeout(err)) return false
  if (err instanceof UpstreamRejected) return everyStatus
  return true // network errors ("fetch failed": refused, reset, closed) and 5xx
}

export function createSummarizer (config, metrics, log) {
  const { timeoutMs, retry } = config.summarizer
  const endpoint = `${config.summarizerUrl}/v1/summarize`

  async function attempt (text, signal) {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text }),
      signal
    })
    // a 5xx, or the summarizer's own rate limit (429): retried, after its Retry-After
    if (response.status >= 500 || response.status === 429) {
      await response.body?.cancel()
      throw new UpstreamError(response.status, retryAfterMs(response))
    }
    if (!response.ok) {
      await response.body?.cancel()
      throw new UpstreamRejected(response.status)
    }
    return response.json()
  }

  async function summarizeWithRetries (text, requestSignal) {
    const signal = AbortSignal.any([requestSignal, AbortSignal.timeout(timeoutMs)])
    if (!retry.enabled || retry.attempts <= 1) return attempt(text, signal)
    return pRetry(() => attempt(text, signal), {
      retries: retry.attempts - 1,
      factor: 2,
      minTimeout: retry.minMs,
      maxTimeout: retry.maxMs,
      signal,
      shouldRetry: async ({ error }) => {
        const again = retryable(error, retry.everyStatus) && !signal.aborted
        if (again) metrics.retries.inc({ dependency: 'summarizer' })
        // the summarizer said when to come back: left alone that long, then p-retry's own
        // backoff (RETRY_AFTER_ENABLED=false, the broken variant: the backoff alone)
        if (again && retry.honourRetryAfter && error.retryAfterMs) {
          await sleep(error.retryAfterMs, undefined, { signal })
        }
        return again
      }
    })
  }

  const breaker = new CircuitBreaker(summarizeWithRetries, {
    name: 'summarizer',
    timeout: timeoutMs,
    errorThresholdPercentage: config.circuit.errorThresholdPercentage,
    rollingCountTimeout: config.circuit.rollingCountTimeoutMs,
    rollingCountBuckets: 10,
    volumeThreshold: config.circuit.volumeThreshold,
    resetTimeout: config.circuit.resetTimeoutMs,
    // a 4xx is the caller's mistake, and a 429 the summarizer pacing us (retried after its
    // Retry-After): neither opens the circuit nor keeps it open
    errorFilter: (err) => err instanceof UpstreamRejected ||
      (err instanceof UpstreamError && err.status === 429)
  })
  const gauge = metrics.circuit.labels({ circuit: 'summarizer' })
  breaker.on('open', () => {
    gauge.set(CIRCUIT_STATES.open)
    log.warn({ circuit: 'summarizer', resetTimeoutMs: config.circuit.resetTimeoutMs }, 'circuit open')
  })
  breaker.on('halfOpen', () => {
    gauge.set(CIRCUIT_STATES.halfOpen)
    log.info({ circuit: 'summarizer' }, 'circuit half-open: letting one call through')
  })
  breaker.on('close', () => {
    gauge.set(CIRCUIT_STATES.closed)
    log.info({ circuit: 'summarizer' }, 'circuit closed')
  })

  return {
    breaker,
    /** A summary of `text`; throws an HttpError (503 open circuit, 504 timeout, 502). */
    async summarize (text, signal) {
      try {
        return config.circuit.enabled
          ? await breaker.fire(text, signal)
          : await summarizeWithRetries(text, signal)
      } catch (err) {
        if (err?.code === 'EOPENBREAKER') throw new SummarizerCircuitOpen()
        if (isTimeout(err)) throw new SummarizerTimeout(timeoutMs, err)
        throw new SummarizerFailed(err)
      }
    },
    shutdown () {
      breaker.shutdown()
    }
  }
}
