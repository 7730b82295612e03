// The Redis connection (ioredis), tuned for a rate-limit store that must fail fast: with the
// offline queue off, a command sent while the connection is down fails at once instead of
// waiting for a reconnect, and a command on a hung connection fails after the command timeout.
import Redis from 'ioredis'

export function createRedis (config, log) {
  const redis = new Redis(config.redisUrl, {
    connectionName: 'scribe',
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: config.rateLimit.redisCommandTimeoutMs,
    connectTimeout: 1000,
    // reconnect quickly after an outage: 100 ms, 200 ms, ... at most 1 s apart
    retryStrategy: (times) => Math.min(times * 100, 1000)
  })
  let down = false
  redis.on('error', (err) => {
    if (!down) log.warn({ err: err.message }, 'redis: connection error')
    down = true
  })
  redis.on('ready', () => {
    if (down) log.info('redis: connected again')
    down = false
  })
  return redis
}
