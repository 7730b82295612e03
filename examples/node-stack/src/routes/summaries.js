// POST /v1/summaries: a summary of the text from the summarizer upstream, through its circuit
// breaker. While the circuit is open the answer is immediate: 503 with
// x-summarizer-circuit: open and {"degraded": true}. Never touches the database.
import { withinDeadline } from '../deadline.js'

export default async function summaries (app, { summarizer }) {
  app.post('/summaries', {
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
