// PostgreSQL through one pg Pool: the pool's acquire timeout, retries on transient connection
// errors, the schema, and the queries the routes run.
//
// Two kinds of database failure are told apart, because they call for opposite answers:
//   - the database is *unreachable* (refused, reset, the connection dropped): worth a retry
//     with backoff, since a restart or a network blip is over in a moment;
//   - the pool has *no connection to give* within the acquire timeout (every connection busy,
//     or a new one too slow to open): not retried — a retry would queue more work onto a
//     saturated database — but answered 503 at once.
import pg from 'pg'
import pRetry from 'p-retry'

import { DatabaseBusy, DatabaseUnavailable } from './errors.js'

// connection-level failures worth retrying: the socket, or the server going away
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03' // cannot_connect_now (starting up)
])

/** pg-pool's two timeouts, both bounded by connectionTimeoutMillis. */
export function isAcquireTimeout (err) {
  return err?.message === 'timeout exceeded when trying to connect' ||
    err?.message === 'Connection terminated due to connection timeout'
}

export function isTransient (err) {
  if (!err || isAcquireTimeout(err)) return false
  if (TRANSIENT_CODES.has(err.code) || String(err.code ?? '').startsWith('08')) return true
  return err.message === 'Connection terminated unexpectedly'
}

export function createPool (config, log) {
  const pool = new pg.Pool({
    connectionString: config.databaseUrl,
    max: config.pg.max,
    min: Math.min(config.pg.min, config.pg.max),
    // the acquire timeout: waiting for a free connection, or for a new one to open
    connectionTimeoutMillis: config.pg.acquireTimeoutEnabled ? config.pg.acquireTimeoutMs : 0,
    idleTimeoutMillis: config.pg.idleTimeoutMs,
    application_name: 'scribe'
  })
  // an idle connection that dies (database restarted, network cut) is dropped by the pool;
  // without a listener the 'error' event would crash the process
  pool.on('error', (err) => log.warn({ err: err.message }, 'postgres: idle connection lost'))
  return pool
}

/**
 * Open the pool's floor (its `min`) at once, in at most `rounds` tries (one that times out
 * is tried again; returns how many opened): pg-pool keeps `min` connections from being
 * reaped but opens every connection on demand. Asked at boot, before the service says ready,
 * so its first requests do not each wait for a connection to open (in a CI run, two stacks
 * booting on two cores took longer than the 0.5 s acquire timeout to open them: 14 of the
 * first 117 requests answered 503).
 */
export async function warmPool (pool, rounds = 3) {
  const held = [] // kept checked out until the end, so that each round opens new ones
  for (let round = 0; round < rounds && held.length < pool.options.min; round++) {
    const tries = await Promise.allSettled(
      Array.from({ length: pool.options.min - held.length }, () => pool.connect()))
    for (const t of tries) if (t.status === 'fulfilled') held.push(t.value)
  }
  for (const client of held) client.release()
  return held.length
}

/**
 * Run `operation` (one statement, or several that are safe to repeat) with retries on
 * transient connection errors, and convert what is left into an HttpError.
 */
export async function withDatabase (config, metrics, operation, { signal } = {}) {
  const { enabled, attempts, minMs, maxMs } = config.pgRetry
  try {
    if (!enabled || attempts <= 1) return await operation()
    return await pRetry(operation, {
      retries: attempts - 1,
      factor: 2,
      minTimeout: minMs,
      maxTimeout: maxMs,
      signal,
      shouldRetry: ({ error }) => {
        const again = isTransient(error)
        if (again) metrics.retries.inc({ dependency: 'postgres' })
        return again
      }
    })
  } catch (err) {
    if (isAcquireTimeout(err)) throw new DatabaseBusy(err)
    if (isTransient(err)) throw new DatabaseUnavailable(err)
    throw err
  }
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS notes (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  owner text NOT NULL,
  title text NOT NULL,
  body text NOT NULL DEFAULT '',
  idempotency_key text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS notes_owner_idempotency_key
  ON notes (owner, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS notes_owner_created ON notes (owner, created_at DESC);
`

export async function migrate (pool) {
  await pool.query(SCHEMA)
}

const COLUMNS = 'id, title, body, created_at AS "createdAt"'

export function notesRepository (pool) {
  return {
    async list (owner, limit = 20) {
      const { rows } = await pool.query(
        `SELECT ${COLUMNS} FROM notes WHERE owner = $1 ORDER BY created_at DESC LIMIT $2`,
        [owner, limit])
      return rows
    },

    async get (owner, id) {
      const { rows } = await pool.query(
        `SELECT ${COLUMNS} FROM notes WHERE owner = $1 AND id = $2`, [owner, id])
      return rows[0] ?? null
    },

    /**
     * Insert a note once per (owner, idempotency key): a repeat answers the stored note with
     * created = false. Safe to retry after a lost connection, which is why the retry wrapper
     * may repeat it. Without a key every call inserts.
     */
    async create (owner, { title, body }, idempotencyKey) {
      const { rows } = await pool.query(`
        WITH inserted AS (
          INSERT INTO notes (owner, title, body, idempotency_key) VALUES ($1, $2, $3, $4)
          ON CONFLICT (owner, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
          RETURNING ${COLUMNS}
        )
        SELECT *, true AS created FROM inserted
        UNION ALL
        SELECT ${COLUMNS}, false AS created FROM notes
         WHERE owner = $1 AND idempotency_key = $4 AND NOT EXISTS (SELECT 1 FROM inserted)`,
      [owner, title, body ?? '', idempotencyKey])
      if (rows.length) return rows[0]
      // the conflicting insert committed after this statement's snapshot: read it now
      const again = await pool.query(
        `SELECT ${COLUMNS}, false AS created FROM notes WHERE owner = $1 AND idempotency_key = $2`,
        [owner, idempotencyKey])
      return again.rows[0]
    }
  }
}
