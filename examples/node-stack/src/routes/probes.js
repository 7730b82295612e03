// /live, /ready, /health and /metrics. None of them is rate limited (see rate-limit.js).
//
//   /live    the process is up and its event loop turns: 200. Never looks at dependencies
//            (a database outage must not get every instance restarted).
//   /ready   should this instance get traffic? 503 while draining, before the schema is in
//            place, or when PostgreSQL or Redis does not answer within READY_CHECK_TIMEOUT_S.
//   /health  the same checks in detail, for people and dashboards; always 200.
//   /health/detailed  per-dependency status (healthy, degraded above HEALTH_DEGRADED_MS, unhealthy)
//            and latency in ms, the circuit's state and an overall status; 503 when the
//            database is unhealthy (My-SaaS-Chat, LangSense).
//   /metrics Prometheus text.

function graded (check, degradedMs) {
  const status = !check.ok ? 'unhealthy' : check.latencyMs > degradedMs ? 'degraded' : 'healthy'
  return { status, latencyMs: check.latencyMs, ...(check.error ? { error: check.error } : {}) }
}

async function timed (check, timeoutMs) {
  const started = performance.now()
  let timer
  try {
    await Promise.race([
      check(),
      new Promise((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
      })
    ])
    return { ok: true, latencyMs: Math.round(performance.now() - started) }
  } catch (err) {
    return { ok: false, latencyMs: Math.round(performance.now() - started), error: err.message }
  } finally {
    clearTimeout(timer)
  }
}

export default async function probes (app, { config, state, pool, redis, metrics, summarizer }) {
  const dependencies = async () => {
    const [postgres, cache] = await Promise.all([
      timed(() => pool.query('SELECT 1'), config.readiness.timeoutMs),
      timed(() => redis.ping(), config.readiness.timeoutMs)
    ])
    return { postgres, redis: cache }
  }
  // the broken variant READINESS_DEEP_CHECK: a real summary on every probe, as slow as the model
  const deep = () => timed(() => summarizer.summarize('readiness',
    AbortSignal.timeout(config.summarizer.timeoutMs)), config.summarizer.timeoutMs)

  app.get('/live', async () => ({ status: 'live', uptimeS: Math.round(process.uptime()) }))

  app.get('/ready', async (request, reply) => {
    if (state.draining) return reply.code(503).send({ status: 'draining' })
    if (!state.migrated) return reply.code(503).send({ status: 'starting', reason: 'schema not in place yet' })
    if (!config.readiness.checksEnabled) return { status: 'ready', checks: 'disabled' }
    const checks = await dependencies()
    if (config.readiness.deepCheck) checks.summarizer = await deep()
    const ready = checks.postgres.ok && checks.redis.ok && (checks.summarizer?.ok ?? true)
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'degraded', checks })
  })

  app.get('/health', async () => {
    const checks = await dependencies()
    const healthy = checks.postgres.ok && checks.redis.ok && state.migrated
    return {
      status: state.draining ? 'draining' : healthy ? 'healthy' : 'degraded',
      schema: state.migrated ? 'ready' : 'pending',
      checks,
      circuits: { summarizer: state.circuitState() },
      inFlight: state.inFlight,
      uptimeS: Math.round(process.uptime())
    }
  })

  app.get('/health/detailed', async (request, reply) => {
    const { postgres, redis: cache } = await dependencies()
    const degradedMs = config.readiness.degradedMs
    const checks = { postgres: graded(postgres, degradedMs), redis: graded(cache, degradedMs) }
    const circuit = state.circuitState()
    const status = checks.postgres.status === 'unhealthy' ? 'unhealthy'
      : Object.values(checks).some((c) => c.status !== 'healthy') ||
        !['closed', 'disabled'].includes(circuit) ? 'degraded' : 'healthy'
    return reply.code(status === 'unhealthy' ? 503 : 200)
      .send({ status, checks, circuits: { summarizer: circuit.toUpperCase() } })
  })

  app.get('/metrics', async (request, reply) => {
    reply.header('content-type', metrics.register.contentType)
    return metrics.register.metrics()
  })
}
