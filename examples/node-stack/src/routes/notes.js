// /v1/notes: a user's notes in PostgreSQL. Every statement goes through withDatabase (retries on
// a lost connection, 503 on pool exhaustion) inside the request deadline.
//
// POST is idempotent per X-Idempotency-Key: a client that resends after a lost answer gets the
// note it already created (200, x-idempotent-replay: true) instead of a second one (201).
import { withDatabase } from '../db.js'
import { withinDeadline } from '../deadline.js'
import { HttpError } from '../errors.js'

const note = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    title: { type: 'string' },
    body: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' }
  }
}

export default async function notes (app, { config, metrics, repo }) {
  const db = (request, operation) => withinDeadline(request, (signal) =>
    withDatabase(config, metrics, operation, { signal }))

  app.get('/notes', {
    schema: { response: { 200: { type: 'object', properties: { notes: { type: 'array', items: note } } } } }
  }, async (request) => {
    const rows = await db(request, () => repo.list(request.user.sub))
    return { notes: rows }
  })

  app.get('/notes/:id', {
    schema: {
      params: { type: 'object', properties: { id: { type: 'string', pattern: '^[0-9]{1,18}$' } } },
      response: { 200: note }
    }
  }, async (request) => {
    const row = await db(request, () => repo.get(request.user.sub, request.params.id))
    if (!row) throw new HttpError(404, 'not_found', `no note ${request.params.id}`)
    return row
  })

  app.post('/notes', {
    schema: {
      headers: {
        type: 'object',
        properties: { 'x-idempotency-key': { type: 'string', minLength: 1, maxLength: 200 } }
      },
      body: {
        type: 'object',
        required: ['title'],
        properties: {
          title: { type: 'string', minLength: 1, maxLength: 200 },
          body: { type: 'string', maxLength: 10000 }
        }
      },
      response: { '2xx': note }
    }
  }, async (request, reply) => {
    const key = config.idempotencyEnabled ? (request.headers['x-idempotency-key'] ?? null) : null
    const row = await db(request, () => repo.create(request.user.sub, request.body, key))
    const { created, ...stored } = row
    if (!created) reply.header('x-idempotent-replay', 'true')
    return reply.code(created ? 201 : 200).send(stored)
  })
}
