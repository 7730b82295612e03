// POST /session: a signed session token (JWT) for a user name. There are no passwords in this
// example; what matters is that every later request carries a token the API verifies, and that
// the route is rate limited per client address like a login.
import { sessionRateLimit } from '../rate-limit.js'

export default async function session (app, { config }) {
  app.post('/session', {
    config: config.rateLimit.enabled ? { rateLimit: sessionRateLimit(config) } : {},
    schema: {
      body: {
        type: 'object',
        required: ['user'],
        properties: { user: { type: 'string', minLength: 1, maxLength: 64 } }
      }
    }
  }, async (request, reply) => {
    const token = await reply.jwtSign({ sub: request.body.user }, { expiresIn: config.sessionTtlS })
    return reply.code(201).send({ token, tokenType: 'Bearer', expiresIn: config.sessionTtlS })
  })
}
