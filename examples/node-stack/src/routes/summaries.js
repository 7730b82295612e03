// POST /v1/summaries: a summary of the text from the summarizer upstream, through its circuit
// breaker. While the circuit is open the answer is immediate: 503 with
// x-summarizer-circuit: open and {"degraded": true}. Never touches the database. When
// SUMMARY_RATE_LIMIT_MAX is set the route has a limit of its own per user (a route config of
// @fastify/rate-limit, as for uploads); SUMMARY_RATE_LIMIT_ENABLED=false (broken variant) drops
// it, so summaries fall under the /v1 limit only.
import { withinDeadline } from '../deadline.js'
import { summaryRateLimit } from '../rate-limit.js'

export default async function summaries (app, { config, summarizer }) {
  const limits = config.rateLimit
  const limited = limits.enabled && limits.summaryEnabled && limits.summaryMax !== null
  app.post('/summaries', {
    config: limited ? { rateLimit: summaryRateLimit(config) } : {},
    schema: {
      body: {
        type: 'object',
        required: ['text'],
        properties: { text: { type: 'string', minLength: 1, maxLength: 20000 } }
      }
    }
  }, async (request) => {
    const answer = await withinDeadline(request, (signal) =>
      summarizer.summarize(request.body.text, signal))
    return { summary: answer.summary, model: answer.model }
  })
}
