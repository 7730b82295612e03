// The summarizer: scribe's stand-in for an AI model API, in plain node:http (no packages).
//
//   POST /v1/summarize {"text": "..."} -> {"summary": "...", "model": "...", "inputWords": n}
//   GET  /healthz                      -> {"status": "ok"}
//
// It answers after SUMMARIZER_LATENCY_MS (a model takes a while); SUMMARIZER_FAIL_RATE makes a
// share of calls answer 500. Listens on SUMMARIZER_HOST:SUMMARIZER_PORT.
import http from 'node:http'

const host = process.env.SUMMARIZER_HOST ?? '127.0.0.1'
const port = Number(process.env.SUMMARIZER_PORT ?? 4100)
const latencyMs = Number(process.env.SUMMARIZER_LATENCY_MS ?? 50)
const failRate = Number(process.env.SUMMARIZER_FAIL_RATE ?? 0)
const MODEL = 'scribe-extractive-1'

function send (res, status, body) {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function summarize (text) {
  const words = text.split(/\s+/).filter(Boolean)
  const summary = words.slice(0, 12).join(' ') + (words.length > 12 ? ' …' : '')
  return { summary, model: MODEL, inputWords: words.length }
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/healthz') return send(res, 200, { status: 'ok' })
  if (req.method !== 'POST' || req.url !== '/v1/summarize') return send(res, 404, { error: 'not_found' })
  const chunks = []
  req.on('data', (chunk) => chunks.push(chunk))
  req.on('end', () => {
    let text
    try {
      text = JSON.parse(Buffer.concat(chunks).toString('utf8')).text
    } catch {
      return send(res, 400, { error: 'invalid_json' })
    }
    if (typeof text !== 'string' || !text) return send(res, 422, { error: 'text required' })
    setTimeout(() => {
      if (Math.random() < failRate) return send(res, 500, { error: 'model_overloaded' })
      send(res, 200, summarize(text))
    }, latencyMs)
  })
})

server.listen(port, host, () => {
  console.log(JSON.stringify({ level: 30, time: Date.now(), msg: 'summarizer listening', host, port, latencyMs }))
})

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0))
    server.closeIdleConnections()
    setTimeout(() => process.exit(0), 2000).unref()
  })
}
