// Every number and every switch of the service comes from the environment, read once here.
//
// Durations are given in seconds (decimals allowed: PG_ACQUIRE_TIMEOUT_S=0.5) because that is
// how a contract states them; they are converted to milliseconds once, below. A bad value stops
// the process at start with one line naming the variable and what it was given.
//
// Switches are FEATURE_ENABLED=true|false; each turns one mechanism off, which is how the
// contract's [variants] show that a verdict can fail.

class ConfigError extends Error {
  constructor (message) {
    super(message)
    this.name = 'ConfigError'
  }
}

function read (env, name, fallback) {
  const raw = env[name]
  return raw === undefined || raw === '' ? fallback : raw
}

function number (env, name, fallback, { min = 0, integer = false } = {}) {
  const raw = read(env, name, undefined)
  if (raw === undefined) return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    const kind = integer ? 'an integer' : 'a number'
    throw new ConfigError(`${name}: expected ${kind} >= ${min}, got ${JSON.stringify(raw)}`)
  }
  return value
}

function seconds (env, name, fallback) {
  return Math.round(number(env, name, fallback) * 1000)
}

function flag (env, name, fallback = true) {
  const raw = String(read(env, name, fallback)).toLowerCase()
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true
  if (['0', 'false', 'no', 'off'].includes(raw)) return false
  throw new ConfigError(`${name}: expected true or false, got ${JSON.stringify(env[name])}`)
}

function url (env, name, fallback) {
  const raw = read(env, name, fallback)
  try {
    return new URL(raw).toString().replace(/\/$/, '')
  } catch {
    throw new ConfigError(`${name}: not a URL: ${JSON.stringify(raw)}`)
  }
}

export function loadConfig (env = process.env) {
  const errorRate = number(env, 'CIRCUIT_ERROR_RATE', 0.5)
  if (errorRate <= 0 || errorRate > 1) {
    throw new ConfigError(`CIRCUIT_ERROR_RATE: expected a fraction in (0, 1], got ${errorRate}`)
  }
  const config = {
    host: read(env, 'HOST', '127.0.0.1'),
    port: number(env, 'PORT', 3000, { integer: true }),
    logLevel: read(env, 'LOG_LEVEL', 'info'),
    // structured logs: JSON lines (pino's own), each request's lines carrying its id as reqId;
    // the broken variants write text lines, or log a request without its id
    logs: {
      json: flag(env, 'JSON_LOGS_ENABLED'),
      requestId: flag(env, 'LOG_REQUEST_ID_ENABLED'),
      // x-request-id on every answer (false: on answers under 400 only, as when a route sets it)
      requestIdOnErrors: flag(env, 'REQUEST_ID_ON_ERRORS_ENABLED')
    },

    databaseUrl: url(env, 'DATABASE_URL', 'postgresql://scribe:scribe@127.0.0.1:5432/scribe'),
    redisUrl: url(env, 'REDIS_URL', 'redis://127.0.0.1:6379/0'),
    summarizerUrl: url(env, 'SUMMARIZER_URL', 'http://127.0.0.1:4100'),
    jwtSecret: read(env, 'JWT_SECRET', ''),
    sessionTtlS: number(env, 'SESSION_TTL_S', 3600, { integer: true }),

    // PostgreSQL pool (lazy-foundry: max 20, 2 s to get a connection)
    pg: {
      max: number(env, 'PG_POOL_MAX', 20, { min: 1, integer: true }),
      // connections opened at boot and never reaped (as asyncpg's min_size in stack/):
      // opening one costs a TCP and auth round trip, which a busy host can stretch past
      // the acquire timeout, so a cold pool answered its first bursts 503
      min: number(env, 'PG_POOL_MIN', 5, { min: 0, integer: true }),
      acquireTimeoutMs: seconds(env, 'PG_ACQUIRE_TIMEOUT_S', 2),
      acquireTimeoutEnabled: flag(env, 'PG_ACQUIRE_TIMEOUT_ENABLED'),
      idleTimeoutMs: seconds(env, 'PG_IDLE_TIMEOUT_S', 10)
    },
    pgRetry: {
      enabled: flag(env, 'RETRIES_ENABLED'),
      attempts: number(env, 'PG_RETRY_ATTEMPTS', 3, { min: 1, integer: true }),
      minMs: seconds(env, 'PG_RETRY_MIN_S', 0.2),
      maxMs: seconds(env, 'PG_RETRY_MAX_S', 1)
    },

    // the summarizer upstream: one call = its attempts and backoff, under one timeout
    summarizer: {
      timeoutMs: seconds(env, 'SUMMARIZER_TIMEOUT_S', 30),
      retry: {
        enabled: flag(env, 'RETRIES_ENABLED'),
        attempts: number(env, 'SUMMARIZER_RETRY_ATTEMPTS', 3, { min: 1, integer: true }),
        minMs: seconds(env, 'SUMMARIZER_RETRY_MIN_S', 1),
        maxMs: seconds(env, 'SUMMARIZER_RETRY_MAX_S', 4),
        // broken variant: a 4xx is retried too, as a client that retries "on error" does
        everyStatus: flag(env, 'RETRY_EVERY_STATUS', false),
        // the summarizer's Retry-After is waited before the retry (false: the broken variant)
        honourRetryAfter: flag(env, 'RETRY_AFTER_ENABLED')
      }
    },
    circuit: {
      enabled: flag(env, 'CIRCUIT_BREAKER_ENABLED'),
      errorThresholdPercentage: errorRate * 100,
      rollingCountTimeoutMs: seconds(env, 'CIRCUIT_WINDOW_S', 10),
      volumeThreshold: number(env, 'CIRCUIT_VOLUME_THRESHOLD', 5, { integer: true }),
      resetTimeoutMs: seconds(env, 'CIRCUIT_RESET_S', 60)
    },

    // rate limits in Redis: every /v1 route per user (else per client address), and the
    // session route per client address
    rateLimit: {
      enabled: flag(env, 'RATE_LIMIT_ENABLED'),
      failOpen: flag(env, 'RATE_LIMIT_FAIL_OPEN'),
      max: number(env, 'RATE_LIMIT_MAX', 100, { min: 1, integer: true }),
      windowMs: seconds(env, 'RATE_LIMIT_WINDOW_S', 60),
      sessionMax: number(env, 'SESSION_RATE_LIMIT_MAX', 5, { min: 1, integer: true }),
      sessionWindowMs: seconds(env, 'SESSION_RATE_LIMIT_WINDOW_S', 900),
      // POST /v1/uploads has a budget of its own (Quemiai: uploads 10 req/min beside 100);
      // UPLOAD_RATE_LIMIT_ENABLED=false leaves the route under the /v1 limit only
      uploadEnabled: flag(env, 'UPLOAD_RATE_LIMIT_ENABLED'),
      uploadMax: number(env, 'UPLOAD_RATE_LIMIT_MAX', 10, { min: 1, integer: true }),
      uploadWindowMs: seconds(env, 'UPLOAD_RATE_LIMIT_WINDOW_S', 60),
      // POST /v1/summaries may have a budget of its own (lazy-foundry: generation 10 an hour per
      // user): off unless SUMMARY_RATE_LIMIT_MAX is set, as the AI route of most teams shares
      // the /v1 limit; SUMMARY_RATE_LIMIT_ENABLED=false (broken variant) drops a set one
      summaryEnabled: flag(env, 'SUMMARY_RATE_LIMIT_ENABLED'),
      summaryMax: number(env, 'SUMMARY_RATE_LIMIT_MAX', null, { min: 1, integer: true }),
      summaryWindowMs: seconds(env, 'SUMMARY_RATE_LIMIT_WINDOW_S', 3600),
      redisCommandTimeoutMs: seconds(env, 'REDIS_COMMAND_TIMEOUT_S', 0.25)
    },

    deadline: {
      enabled: flag(env, 'HTTP_DEADLINE_ENABLED'),
      ms: seconds(env, 'HTTP_DEADLINE_S', 10)
    },
    readiness: {
      checksEnabled: flag(env, 'READINESS_CHECKS_ENABLED'),
      timeoutMs: seconds(env, 'READY_CHECK_TIMEOUT_S', 0.5),
      // /health/detailed: a dependency answering slower than this is shown degraded
      degradedMs: number(env, 'HEALTH_DEGRADED_MS', 250, { min: 1 }),
      // broken variant: /ready asks the summarizer for a real summary on every probe
      deepCheck: flag(env, 'READINESS_DEEP_CHECK', false)
    },
    idempotencyEnabled: flag(env, 'IDEMPOTENCY_ENABLED'),
    // Socket.IO (src/realtime.js): engine path and heartbeat (Socket.IO's defaults: 25 s / 20 s)
    realtime: {
      enabled: flag(env, 'REALTIME_ENABLED'),
      path: read(env, 'SOCKETIO_PATH', '/socket.io'),
      pingIntervalMs: seconds(env, 'SOCKETIO_PING_INTERVAL_S', 25),
      pingTimeoutMs: seconds(env, 'SOCKETIO_PING_TIMEOUT_S', 20),
      // the stream reader starts again after a Redis error (false: it gives up for good)
      resubscribe: flag(env, 'REALTIME_RESUBSCRIBE_ENABLED'),
      // a message is acknowledged once Redis stored it (false: on receipt, stored afterwards)
      ackAfterStore: flag(env, 'REALTIME_ACK_AFTER_STORE_ENABLED')
    },
    shutdown: {
      enabled: flag(env, 'GRACEFUL_SHUTDOWN_ENABLED'),
      drainDelayMs: seconds(env, 'DRAIN_DELAY_S', 5),
      timeoutMs: seconds(env, 'SHUTDOWN_TIMEOUT_S', 30)
    }
  }
  if (!config.jwtSecret) throw new ConfigError('JWT_SECRET: required (the key sessions are signed with)')
  if (config.rateLimit.windowMs <= 0 || config.rateLimit.sessionWindowMs <= 0 ||
      config.rateLimit.uploadWindowMs <= 0) {
    throw new ConfigError('RATE_LIMIT_WINDOW_S / SESSION_RATE_LIMIT_WINDOW_S / UPLOAD_RATE_LIMIT_WINDOW_S: must be > 0')
  }
  if (config.circuit.rollingCountTimeoutMs % 10 !== 0) {
    // opossum splits the window into 10 buckets
    throw new ConfigError(`CIRCUIT_WINDOW_S: must be a multiple of 0.01 s, got ${config.circuit.rollingCountTimeoutMs / 1000}`)
  }
  return Object.freeze(config)
}

export { ConfigError }
