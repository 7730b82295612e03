// Rate limits with @fastify/rate-limit, counted in Redis so every instance shares them.
//
//   /v1/*       RATE_LIMIT_MAX per RATE_LIMIT_WINDOW_S, per user (else per client address)
//   /session    SESSION_RATE_LIMIT_MAX per SESSION_RATE_LIMIT_WINDOW_S, per client address
//   /v1/uploads UPLOAD_RATE_LIMIT_MAX per UPLOAD_RATE_LIMIT_WINDOW_S, per user: a route config,
//               which @fastify/rate-limit counts instead of the /v1 limit, not on top of it
//   /v1/summaries SUMMARY_RATE_LIMIT_MAX per SUMMARY_RATE_LIMIT_WINDOW_S, per user, the same
//               way, when SUMMARY_RATE_LIMIT_MAX is set (else the /v1 limit)
//   /health, /health/detailed, /ready, /live, /metrics: never limited
//
// The client address is the first X-Forwarded-For entry (the client as the load balancer saw
// it), else the socket's address. When Redis cannot answer, requests are admitted (fail open:
// a limiter outage must not become an API outage) and counted in
// scribe_rate_limit_store_errors_total; RATE_LIMIT_FAIL_OPEN=false refuses them with 503.
import rateLimit from '@fastify/rate-limit'
import RedisStore from '@fastify/rate-limit/store/RedisStore.js'

import { HttpError } from './errors.js'

export const EXEMPT_ROUTES = new Set(['/health', '/health/detailed', '/ready', '/live', '/metrics'])

export function clientAddress (request) {
  const forwarded = request.headers['x-forwarded-for']
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim()
  return first || request.ip
}

/** The library's Redis store, counting (and, failing closed, converting) its errors. */
class ObservedStore {
  constructor (inner, onError) {
    this.inner = inner
    this.onError = onError
  }

  incr (key, callback, timeWindow, max) {
    this.inner.incr(key, (err, result) => {
      callback(err ? this.onError(err) : null, result)
    }, timeWindow, max)
  }

  child (routeOptions) {
    return new ObservedStore(this.inner.child(routeOptions), this.onError)
  }
}

export async function registerRateLimits (app, config, redis, metrics) {
  const limits = config.rateLimit
  let lastLogged = 0
  const onError = (err) => {
    metrics.rateLimitStoreErrors.inc()
    const now = Date.now()
    if (now - lastLogged > 5000) { // one line per 5 s, not one per request
      lastLogged = now
      app.log.warn({ err: err.message, failOpen: limits.failOpen },
        limits.failOpen ? 'rate limit store unreachable: admitting requests' : 'rate limit store unreachable: refusing requests')
    }
    return limits.failOpen
      ? err
      : new HttpError(503, 'rate_limiter_unavailable', 'the rate limiter is unavailable', { cause: err })
  }
  await app.register(rateLimit, {
    global: true,
    // after the /v1 auth hook (onRequest), so the key can be the user
    hook: 'preHandler',
    max: limits.max,
    timeWindow: limits.windowMs,
    store: class {
      constructor () {
        return new ObservedStore(new RedisStore(false, false, redis, 'scribe:rl:'), onError)
      }
    },
    skipOnError: limits.failOpen,
    keyGenerator: (request) => request.user?.sub
      ? `user:${request.user.sub}`
      : `addr:${clientAddress(request)}`,
    allowList: (request) => EXEMPT_ROUTES.has(request.routeOptions.url),
    errorResponseBuilder: (request, context) => new HttpError(
      context.statusCode, 'rate_limited', `rate limit exceeded, retry in ${context.after}`,
      { body: { retryAfter: Math.max(1, Math.ceil(context.ttl / 1000)), limit: context.max } })
  })
}

/** The per-route limit of POST /v1/uploads: the /v1 key (the user) and the plugin's store. */
export function uploadRateLimit (config) {
  return {
    max: config.rateLimit.uploadMax,
    timeWindow: config.rateLimit.uploadWindowMs
  }
}

/** The per-route limit of POST /v1/summaries, when one is set: as the uploads one. */
export function summaryRateLimit (config) {
  return {
    max: config.rateLimit.summaryMax,
    timeWindow: config.rateLimit.summaryWindowMs
  }
}

/** The per-route limit of POST /session (route config of @fastify/rate-limit). */
export function sessionRateLimit (config) {
  return {
    max: config.rateLimit.sessionMax,
    timeWindow: config.rateLimit.sessionWindowMs,
    keyGenerator: (request) => `addr:${clientAddress(request)}`
  }
}
