// Prometheus metrics (prom-client), one registry for the process, all named scribe_*.
import client from 'prom-client'

export const CIRCUIT_STATES = Object.freeze({ closed: 0, halfOpen: 1, open: 2 })

export function createMetrics () {
  const register = new client.Registry()
  client.collectDefaultMetrics({ register, prefix: 'scribe_' })

  const requests = new client.Counter({
    name: 'scribe_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'],
    registers: [register]
  })
  const duration = new client.Histogram({
    name: 'scribe_http_request_duration_seconds',
    help: 'Time from the request arriving to the response being written',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [register]
  })
  const circuit = new client.Gauge({
    name: 'scribe_circuit_state',
    help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open',
    labelNames: ['circuit'],
    registers: [register]
  })
  const retries = new client.Counter({
    name: 'scribe_dependency_retries_total',
    help: 'Retries of a failed call to a dependency (not counting the first attempt)',
    labelNames: ['dependency'],
    registers: [register]
  })
  const rateLimitStoreErrors = new client.Counter({
    name: 'scribe_rate_limit_store_errors_total',
    help: 'Rate-limit checks that could not reach Redis (admitted when failing open)',
    registers: [register]
  })
  const realtimeSockets = new client.Gauge({
    name: 'scribe_realtime_sockets',
    help: 'Socket.IO connections open right now',
    registers: [register]
  })
  const realtimeConnects = new client.Counter({
    name: 'scribe_realtime_connects_total',
    help: 'Socket.IO handshakes, by outcome (accepted, unauthorized)',
    labelNames: ['outcome'],
    registers: [register]
  })
  const realtimeMessages = new client.Counter({
    name: 'scribe_realtime_messages_total',
    help: 'Realtime messages by outcome: published (then acked), unavailable (Redis refused), delivered (emitted to a room)',
    labelNames: ['outcome'],
    registers: [register]
  })
  const inFlight = new client.Gauge({
    name: 'scribe_http_requests_in_flight',
    help: 'Requests being handled right now',
    registers: [register]
  })

  // every label set a verdict may look for exists from the first scrape, at zero
  circuit.set({ circuit: 'summarizer' }, CIRCUIT_STATES.closed)
  retries.inc({ dependency: 'summarizer' }, 0)
  retries.inc({ dependency: 'postgres' }, 0)

  return {
    register, requests, duration, circuit, retries, rateLimitStoreErrors, inFlight,
    realtimeSockets, realtimeConnects, realtimeMessages
  }
}
