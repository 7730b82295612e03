// POST /v1/uploads: a small upload under a limit of its own (Quemiai: uploads 10 req/min beside
// the API's 100 req/min). The body is measured and hashed, then discarded: what is under test is
// that the route has its own, tighter budget per user, not the storage. The limit is a route
// config of @fastify/rate-limit; UPLOAD_RATE_LIMIT_ENABLED=false (broken variant) drops it, so
// uploads fall under the /v1 limit only.
import { createHash, randomUUID } from 'node:crypto'

import { uploadRateLimit } from '../rate-limit.js'

export default async function uploads (app, { config }) {
  const limited = config.rateLimit.enabled && config.rateLimit.uploadEnabled
  app.post('/uploads', {
    config: limited ? { rateLimit: uploadRateLimit(config) } : {},
    schema: {
      body: {
        type: 'object',
        required: ['filename', 'content'],
        properties: {
          filename: { type: 'string', minLength: 1, maxLength: 200 },
          content: { type: 'string', maxLength: 65536 }
        }
      }
    }
  }, async (request, reply) => {
    const data = Buffer.from(request.body.content, 'utf8')
    return reply.code(201).send({
      id: randomUUID(),
      filename: request.body.filename,
      bytes: data.length,
      sha256: createHash('sha256').update(data).digest('hex'),
      stored: false
    })
  })
}
