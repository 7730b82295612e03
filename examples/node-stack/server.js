// scribe: the API process. Builds the app, listens, and on SIGTERM/SIGINT drains:
//
//   1. readiness answers 503 at once (a load balancer stops sending new traffic)
//   2. requests are still served for DRAIN_DELAY_S (the balancer needs that long to notice)
//   3. the listener closes; requests in flight finish; the pool and Redis are closed; exit 0
//   4. if 3 takes longer than SHUTDOWN_TIMEOUT_S: the remaining connections are cut, the
//      number of requests still in flight is logged, exit 1
//
// The signal handler only records the signal; the main flow notices it and runs the steps. A
// second signal exits at once (1). GRACEFUL_SHUTDOWN_ENABLED=false installs no handler, so a
// signal kills the process the way Node's default does (the broken variant).
import { setTimeout as sleep } from 'node:timers/promises'

import { ConfigError, loadConfig } from './src/config.js'
import { buildApp } from './src/app.js'

const SIGNALS = ['SIGTERM', 'SIGINT']

function signalled (log) {
  return new Promise((resolve) => {
    let first = null
    const onSignal = (signal) => {
      if (first) {
        log.error({ signal, first }, 'shutdown: second signal, exiting without finishing the drain')
        process.exit(1)
      }
      first = signal
      resolve(signal)
    }
    for (const signal of SIGNALS) process.on(signal, onSignal)
  })
}

async function drain (app, state, config, signal) {
  const { drainDelayMs, timeoutMs } = config.shutdown
  const started = performance.now()
  state.draining = true
  app.log.info({ signal, drainDelayMs, inFlight: state.inFlight },
    'shutdown: readiness now 503; still serving through the drain delay')
  await sleep(drainDelayMs)

  app.log.info({ inFlight: state.inFlight, timeoutMs },
    'shutdown: listener closing; finishing the requests in flight')
  const giveUp = setTimeout(() => {
    app.log.error({ inFlight: state.inFlight, timeoutMs },
      'shutdown: gave up waiting for requests in flight; cutting their connections')
    app.server.closeAllConnections()
    process.exit(1)
  }, timeoutMs)
  state.closing = true
  await app.close() // stops accepting, waits for in-flight requests, runs onClose (pool, Redis)
  clearTimeout(giveUp)
  for (const name of SIGNALS) process.removeAllListeners(name)
  app.log.info({ tookMs: Math.round(performance.now() - started) }, 'shutdown: done')
}

async function main () {
  let config
  try {
    config = loadConfig()
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    console.error(`scribe: configuration: ${err.message}`)
    process.exit(2)
  }
  const { app, state } = await buildApp(config)
  const stop = config.shutdown.enabled ? signalled(app.log) : null
  await app.listen({ host: config.host, port: config.port })
  if (!stop) {
    app.log.warn('graceful shutdown disabled (GRACEFUL_SHUTDOWN_ENABLED=false): a signal kills the process')
    return
  }
  await drain(app, state, config, await stop)
  process.exit(0)
}

await main()
