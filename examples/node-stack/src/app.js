// buildApp: the Fastify instance with its dependencies (pg pool, Redis, summarizer client),
// hooks (request id, in-flight count, metrics, deadline), rate limits and routes. It does not
// listen and does not handle signals: server.js does, so the app can be built in a test.
import { randomUUID } from 'node:crypto'

import Fastify, { LogController } from 'fastify'
import fastifyJwt from '@fastify/jwt'
import pRetry from 'p-retry'

import { createMetrics } from './metrics.js'
import { createPool, migrate, notesRepository, warmPool } from './db.js'
import { createRedis } from './redis.js'
import { createSummarizer } from './summarizer-client.js'
import { installDeadline } from './deadline.js'
import { registerRateLimits } from './rate-limit.js'
import { createRealtime } from './realtime.js'
import { HttpError } from './errors.js'
import probes from './routes/probes.js'
import session from './routes/session.js'
import notes from './routes/notes.js'
import summaries from './routes/summaries.js'
import uploads from './routes/uploads.js'

// the broken variant JSON_LOGS_ENABLED=false: pino's lines rewritten as text, the way a
// pretty-printer left on in production writes them ("2026-12-05T10:00:00.000Z INFO msg")
const LEVELS = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }
function textLines () {
  return {
    write (line) {
      const entry = JSON.parse(line)
      process.stdout.write(`${new Date(entry.time).toISOString()} ${LEVELS[entry.level] ?? entry.level} ${entry.msg ?? ''}\n`)
    }
  }
}

export async function buildApp (config) {
  const app = Fastify({
    logger: { level: config.logLevel, ...(config.logs.json ? {} : { stream: textLines() }) },
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // one line per request, written by the onResponse hook below, instead of Fastify's two
    logController: new LogController({ disableRequestLogging: true }),
    // a request arriving on a kept-alive connection once closing has begun gets a 503 from
    // the onRequest hook below, not from Fastify's own return503OnClosing: that one answers
    // before any hook runs, so its 503 would carry no x-request-id and log no request id
    return503OnClosing: false
  })
  const metrics = createMetrics()
  const pool = createPool(config, app.log)
  const redis = createRedis(config, app.log)
  const summarizer = createSummarizer(config, metrics, app.log)
  const repo = notesRepository(pool)
  const stopping = new AbortController()
  const state = {
    migrated: false,
    draining: false,
    closing: false, // the listener is closing: requests still arriving get a 503
    inFlight: 0,
    circuitState: () => !config.circuit.enabled ? 'disabled'
      : summarizer.breaker.opened ? 'open'
        : summarizer.breaker.halfOpen ? 'half-open' : 'closed'
  }

  // --- hooks: every request ------------------------------------------------------------------
  app.decorateRequest('counted', false)
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
    state.inFlight += 1
    request.counted = true
    metrics.inFlight.inc()
    if (state.closing) {
      reply.header('connection', 'close')
      return reply.code(503).send({ error: 'shutting_down', message: 'the server is closing' })
    }
  })
  // the broken variants' request logger: the app's, which carries no reqId
  const logOf = (request) => config.logs.requestId ? request.log : app.log
  const finished = (request) => {
    if (!request.counted) return
    request.counted = false
    state.inFlight -= 1
    metrics.inFlight.dec()
  }
  app.addHook('onRequestAbort', async (request) => finished(request))
  // while draining, every answer closes its connection: kept-alive clients reconnect (to
  // another instance, behind a balancer) instead of finding a closed listener later, and the
  // close after the drain delay has no idle connections left to wait for
  app.addHook('onSend', async (request, reply, payload) => {
    if (state.draining) reply.header('connection', 'close')
    if (!config.logs.requestIdOnErrors && reply.statusCode >= 400) reply.removeHeader('x-request-id')
    return payload
  })
  app.addHook('onResponse', async (request, reply) => {
    finished(request)
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status_code: String(reply.statusCode)
    }
    metrics.requests.inc(labels)
    metrics.duration.observe(labels, reply.elapsedTime / 1000)
    const level = reply.statusCode >= 500 ? 'warn' : 'debug'
    logOf(request)[level]({ ...labels, ms: Math.round(reply.elapsedTime) }, 'request completed')
  })
  installDeadline(app, config)

  app.setErrorHandler((err, request, reply) => {
    if (err instanceof HttpError) {
      if (err.statusCode >= 500) {
        logOf(request).warn({ code: err.code, cause: err.cause?.message }, err.message)
      }
      reply.headers(err.headers)
      return reply.code(err.statusCode).send({ error: err.code, message: err.message, ...err.body })
    }
    if (err.validation) {
      return reply.code(400).send({ error: 'invalid_request', message: err.message })
    }
    if (err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send({ error: err.code ?? 'bad_request', message: err.message })
    }
    logOf(request).error({ err }, 'unhandled error')
    return reply.code(500).send({ error: 'internal_error', message: 'something went wrong' })
  })
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url}` }))

  // --- plugins and routes --------------------------------------------------------------------
  await app.register(fastifyJwt, { secret: config.jwtSecret })
  if (config.rateLimit.enabled) await registerRateLimits(app, config, redis, metrics)
  else app.log.warn('rate limiting disabled (RATE_LIMIT_ENABLED=false)')

  const deps = { config, state, pool, redis, metrics, repo, summarizer }
  await app.register(probes, deps)
  await app.register(session, deps)
  await app.register(async (v1) => {
    v1.addHook('onRequest', async (request) => {
      try {
        await request.jwtVerify()
      } catch (err) {
        throw new HttpError(401, 'unauthorized', 'a valid session token is required (POST /session)', { cause: err })
      }
    })
    await v1.register(notes, deps)
    await v1.register(summaries, deps)
    await v1.register(uploads, deps)
  }, { prefix: '/v1' })
  // Socket.IO beside the routes, on the same server and the same session tokens
  if (config.realtime.enabled) createRealtime(app, deps)

  // the schema, retried until PostgreSQL answers (it may start after us); /ready says 503
  // until it is in place
  const migrating = pRetry(() => migrate(pool), {
    retries: Infinity,
    minTimeout: 200,
    maxTimeout: 2000,
    signal: stopping.signal,
    onFailedAttempt: ({ error, attemptNumber }) => {
      if (attemptNumber === 1 || attemptNumber % 10 === 0) {
        app.log.warn({ err: error.message, attempt: attemptNumber }, 'schema migration failed, retrying')
      }
    }
  }).then(async () => {
    // the pool's floor opened before /ready says 200; a failure here is logged, not fatal:
    // the pool opens connections on demand all the same
    const opened = await warmPool(pool).catch(() => 0)
    app.log[opened < pool.options.min ? 'warn' : 'info'](
      { opened, min: pool.options.min }, 'postgres pool warmed')
    state.migrated = true
    app.log.info('schema in place')
  }, (err) => {
    if (!stopping.signal.aborted) app.log.error({ err }, 'schema migration gave up')
  })

  app.addHook('onClose', async () => {
    stopping.abort()
    await migrating
    summarizer.shutdown()
    await pool.end()
    try {
      await redis.quit()
    } catch {
      redis.disconnect() // not connected: nothing to say goodbye to
    }
  })

  return { app, state }
}
