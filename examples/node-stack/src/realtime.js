// The realtime channel: Socket.IO on the API's own HTTP server, written the way a NestJS
// gateway behind a load balancer with sticky sessions does it.
//
//   connect      the handshake presents the session JWT of POST /session: in the auth payload
//                ({ token }, what socket.io-client's `auth` sends), or as "Authorization:
//                Bearer ..." (a proxy adding it). A bad token is refused with connect_error
//                "unauthorized"; while the process drains, "draining"; before the reader knows
//                where the stream ends (Redis not reached since the process started),
//                "unavailable".
//   room         every socket joins its user's room, `user:<sub>`: all of a user's devices.
//   sendMessage  (payload { id, body }, ack) the message is APPENDED to the Redis stream
//                `scribe:messages` (XADD) and only then acknowledged ({ ok: true, id }); if Redis
//                does not take it, the ack says { ok: false, error: "unavailable" } and the
//                client sends it again. An ack means the message is stored and will be pushed.
//   newMessage   every instance follows the stream with a blocking XREAD from the id of the
//                last entry it pushed, and emits each entry to the room it names, so a message
//                reaches the user's sockets on every instance — the sender's own socket
//                included (the delivery a client can time).
//
// Why a stream and not PUBLISH: pub/sub is fire-and-forget. A message PUBLISHed while this
// instance's subscriber connection is reconnecting — or in flight to it when the connection
// breaks — is gone, yet its sender was told it was on its way. An entry in a stream stays: when
// the Redis link drops, the reader's XREAD fails, it backs off, and reads again from the same id,
// so everything acknowledged meanwhile is pushed once Redis answers. (The reference stack's
// /ws/chat does the same in Python.) The Socket.IO Redis adapters were not a fit: their emit
// gives no moment at which "stored" can be awaited before the ack.
//
// The reader starts at the stream's end as it finds it when the process starts (XREVRANGE),
// and sockets are refused until then: a message acknowledged before that moment would be
// behind the reader. Entries are pushed to the sockets connected when they are read; a socket
// that reconnects is not sent what it missed while it was away (the stream keeps the last
// STREAM_MAXLEN entries for a client that asks for its history).
//
// Broken variants (each makes the reconnect experiment fail "no acknowledged message lost"):
//
//   REALTIME_RESUBSCRIBE_ENABLED=false  the reader gives up at its first Redis error and is never
//                                       started again: messages are still stored and acked,
//                                       and never pushed.
//   REALTIME_ACK_AFTER_STORE_ENABLED=false  acks on receipt and stores afterwards, dropping what
//                                       Redis refused: messages acked during an outage are lost.
import { setTimeout as sleep } from 'node:timers/promises'

import Redis from 'ioredis'
import { Server } from 'socket.io'

const STREAM = 'scribe:messages'
const STREAM_MAXLEN = 10000 // entries kept (approximate trim)
const SEND = 'sendMessage'
const PUSH = 'newMessage'
const MAX_BODY = 2000
const BLOCK_MS = 200 // one XREAD waits at most this long, so closing is noticed soon
const BATCH = 200
const BACKOFF_MS = [50, 500] // the reader's first and longest wait between failed reads

function presentedToken (handshake) {
  const fromAuth = handshake.auth?.token
  if (typeof fromAuth === 'string' && fromAuth) return fromAuth
  const header = handshake.headers?.authorization ?? ''
  return header.startsWith('Bearer ') ? header.slice(7) : null
}

// [id, [field, value, ...]] -> { room, message }, or null for an entry that is not ours
function decode (fields) {
  const raw = {}
  for (let i = 0; i + 1 < fields.length; i += 2) raw[fields[i]] = fields[i + 1]
  try {
    return { room: raw.room, message: JSON.parse(raw.message) }
  } catch {
    return null
  }
}

// The stream's follower: one per process, on a connection of its own (a blocking read holds
// it). `cursor` is the id of the last entry pushed; null until the stream's end is known.
function createReader (app, { config, io, metrics }) {
  const redis = new Redis(config.redisUrl, {
    connectionName: 'scribe-realtime',
    // a read sent while the link is down fails at once, and the loop below decides what next
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: 1000,
    // a hung connection fails the blocking read too, after the block plus this much
    commandTimeout: BLOCK_MS + 1000,
    retryStrategy: (times) => Math.min(times * 100, 1000)
  })
  redis.on('error', () => {}) // the loop logs what matters; the API's own client logs outages
  const reader = { cursor: null, closing: false, gaveUp: false, done: null }

  // resolves once the connection is up (or given up for good): the reads below run on a
  // connection known to be ready, so a failed one is an outage, not a start
  function ready () {
    if (redis.status === 'ready') return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        redis.off('ready', done)
        redis.off('end', done)
        resolve()
      }
      redis.on('ready', done)
      redis.on('end', done)
    })
  }

  async function readOnce () {
    await ready()
    if (reader.closing) return
    if (reader.cursor === null) {
      const last = await redis.xrevrange(STREAM, '+', '-', 'COUNT', 1)
      reader.cursor = last.length ? last[0][0] : '0-0'
      app.log.info({ cursor: reader.cursor }, 'realtime: following the message stream')
    }
    const answer = await redis.xread('COUNT', BATCH, 'BLOCK', BLOCK_MS, 'STREAMS', STREAM, reader.cursor)
    for (const [, entries] of answer ?? []) {
      for (const [id, fields] of entries) {
        const entry = decode(fields)
        if (entry) {
          io.to(entry.room).emit(PUSH, entry.message)
          metrics.realtimeMessages.inc({ outcome: 'delivered' })
        }
        reader.cursor = id
      }
    }
  }

  async function loop () {
    let backoffMs = BACKOFF_MS[0]
    let failing = false
    while (!reader.closing) {
      try {
        await readOnce()
        if (failing) app.log.info({ cursor: reader.cursor }, 'realtime: reading the stream again')
        failing = false
        backoffMs = BACKOFF_MS[0]
      } catch (err) {
        if (reader.closing) return
        if (!config.realtime.resubscribe) {
          reader.gaveUp = true
          app.log.warn({ err: err.message }, 'realtime: stream read failed; not resuming (REALTIME_RESUBSCRIBE_ENABLED=false)')
          return
        }
        if (!failing) app.log.warn({ err: err.message }, 'realtime: stream read failed; retrying from the last pushed entry')
        failing = true
        await sleep(backoffMs)
        backoffMs = Math.min(BACKOFF_MS[1], backoffMs * 2)
      }
    }
  }

  reader.done = loop()
  reader.close = async () => {
    reader.closing = true
    redis.disconnect()
    await reader.done
  }
  return reader
}

export function createRealtime (app, { config, state, redis, metrics }) {
  const io = new Server(app.server, {
    path: config.realtime.path,
    serveClient: false,
    pingInterval: config.realtime.pingIntervalMs,
    pingTimeout: config.realtime.pingTimeoutMs
  })
  const reader = createReader(app, { config, io, metrics })

  async function store (room, message) {
    await redis.xadd(STREAM, 'MAXLEN', '~', STREAM_MAXLEN, '*',
      'room', room, 'message', JSON.stringify(message))
  }

  io.use((socket, next) => {
    if (state.draining) return next(new Error('draining'))
    // the stream's end is not known yet: what this socket sends could land behind the reader
    if (reader.cursor === null) return next(new Error('unavailable'))
    try {
      const claims = app.jwt.verify(presentedToken(socket.handshake) ?? '')
      socket.data.user = String(claims.sub)
      return next()
    } catch {
      metrics.realtimeConnects.inc({ outcome: 'unauthorized' })
      const err = new Error('unauthorized')
      err.data = { status: 401 }
      return next(err)
    }
  })

  io.on('connection', (socket) => {
    const room = `user:${socket.data.user}`
    socket.join(room)
    metrics.realtimeConnects.inc({ outcome: 'accepted' })
    metrics.realtimeSockets.inc()
    socket.on('disconnect', () => metrics.realtimeSockets.dec())

    socket.on(SEND, async (payload, ack) => {
      if (typeof ack !== 'function') return // a fire-and-forget emit: nobody to answer
      if (!payload || typeof payload.id !== 'string' || !payload.id) {
        return ack({ ok: false, error: 'invalid', message: 'payload needs a string id' })
      }
      const message = {
        id: payload.id,
        from: socket.data.user,
        body: String(payload.body ?? '').slice(0, MAX_BODY),
        at: Date.now()
      }
      if (!config.realtime.ackAfterStore) {
        // the broken variant: the promise is made before anything is stored
        ack({ ok: true, id: message.id })
        return store(room, message).then(
          () => metrics.realtimeMessages.inc({ outcome: 'published' }),
          (err) => {
            metrics.realtimeMessages.inc({ outcome: 'unavailable' })
            app.log.warn({ user: socket.data.user, err: err.message }, 'realtime: store failed after the ack')
          })
      }
      try {
        await store(room, message)
      } catch (err) {
        metrics.realtimeMessages.inc({ outcome: 'unavailable' })
        app.log.warn({ user: socket.data.user, err: err.message }, 'realtime: store failed')
        return ack({ ok: false, error: 'unavailable', id: null })
      }
      metrics.realtimeMessages.inc({ outcome: 'published' })
      return ack({ ok: true, id: message.id })
    })
  })

  // before the listener closes: upgraded sockets would keep server.close() waiting
  app.addHook('preClose', async () => {
    io.disconnectSockets(true)
    io.engine.close()
  })
  app.addHook('onClose', async () => {
    await reader.close()
  })
  return io
}
