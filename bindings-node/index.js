'use strict'
/**
 * connect-dynamodb: a session store on Amazon DynamoDB for express-session, connect and
 * @fastify/session, the successor of connect-dynamodb 3.x. The work is done by a native core
 * (see native.js); this file adapts it to express-session's Store contract.
 */
const { EventEmitter } = require('node:events')

const native = require('./native.js')

/** The mark the native addon puts before the JSON of a store error. */
const ERROR_MARK = '\u0001connect-dynamodb:'
/** When a disconnected store asks DynamoDB whether it answers again: soon, then less often. */
const PROBE_DELAYS_MS = [250, 500, 1000, 2000, 5000]
/** Error codes after which the store tells express-session it is disconnected. */
const UNREACHABLE = new Set(['TRANSPORT', 'TIMEOUT'])
const HOUR_MS = 3_600_000
const CENTURY_S = 100 * 365 * 86_400

/** Every failure of the store: `code` is a stable token (see the README's table). */
class SessionStoreError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {{retryable?: boolean, cause?: unknown}} [details]
   */
  constructor(code, message, details = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.name = 'SessionStoreError'
    this.code = code
    this.retryable = Boolean(details.retryable)
  }
}

/** Names the core gives configuration fields, and the options users know them by. */
const OPTION_OF_FIELD = {
  table: 'table',
  hash_key: 'hashKey',
  prefix: 'prefix',
  region: 'region',
  endpoint: 'endpoint',
  'credentials.access_key_id': 'accessKeyId',
  'credentials.secret_access_key': 'secretAccessKey',
  credentials_provider: 'client',
  default_lifetime: 'ttl',
  touch_after: 'touchAfter',
  reap_interval: 'reapInterval',
  billing: 'readCapacityUnits',
  connect_timeout: 'connectTimeout',
  attempt_timeout: 'attemptTimeout',
  operation_timeout: 'operationTimeout',
  max_attempts: 'maxAttempts',
  scan_segments: 'scanSegments',
}

function toStoreError(err) {
  if (err instanceof SessionStoreError) return err
  if (err && typeof err.message === 'string' && err.message.startsWith(ERROR_MARK)) {
    const p = JSON.parse(err.message.slice(ERROR_MARK.length))
    let message = p.message
    if (p.code === 'INVALID_CONFIG') {
      message = message.replace(/`([a-z_.]+)`/, (whole, field) =>
        OPTION_OF_FIELD[field] ? `\`${OPTION_OF_FIELD[field]}\`` : whole,
      )
    }
    const cause = p.cause == null ? undefined : new Error(p.cause)
    return new SessionStoreError(p.code, message, { retryable: p.retryable, cause })
  }
  return new SessionStoreError('INTERNAL', 'unexpected failure inside connect-dynamodb', { cause: err })
}

function configError(option, problem) {
  return new SessionStoreError('INVALID_CONFIG', `invalid option \`${option}\`: ${problem}`)
}

const OPTIONS = [
  'table',
  'hashKey',
  'prefix',
  'reapInterval',
  'accessKeyId',
  'secretAccessKey',
  'sessionToken',
  'readCapacityUnits',
  'writeCapacityUnits',
  'initialized',
  'specialKeys',
  'skipThrowMissingSpecialKeys',
  'client',
  'region',
  'endpoint',
  'consistentRead',
  'touchAfter',
  'ttl',
  'createTable',
  'connectTimeout',
  'attemptTimeout',
  'operationTimeout',
  'maxAttempts',
  'scanSegments',
]

/**
 * Checks the user's options and turns them into the native addon's, plus what the JavaScript
 * layer keeps for itself. Throws INVALID_CONFIG naming the option.
 */
function parseOptions(options) {
  if (options == null) options = {}
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw configError('options', 'must be an object')
  }
  for (const key of Object.keys(options)) {
    if (!OPTIONS.includes(key)) {
      throw configError(key, 'is not an option of connect-dynamodb')
    }
  }
  const given = (name) => options[name] !== undefined && options[name] !== null
  const string = (name) => {
    if (!given(name)) return undefined
    if (typeof options[name] !== 'string') throw configError(name, 'must be a string')
    return options[name]
  }
  const boolean = (name) => {
    if (!given(name)) return undefined
    if (typeof options[name] !== 'boolean') throw configError(name, 'must be true or false')
    return options[name]
  }
  const number = (name, { integer = false, min = 0, max = Number.MAX_SAFE_INTEGER } = {}) => {
    if (!given(name)) return undefined
    let value = options[name]
    // connect-dynamodb 3.x accepted capacity units as strings.
    if (integer && typeof value === 'string' && /^\d+$/.test(value)) value = Number(value)
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      throw configError(name, `must be a number from ${min} to ${max}`)
    }
    if (integer && !Number.isInteger(value)) throw configError(name, 'must be a whole number')
    return value
  }

  const n = {
    table: string('table'),
    hashKey: string('hashKey'),
    prefix: string('prefix'),
    region: string('region'),
    endpoint: string('endpoint'),
    accessKeyId: string('accessKeyId'),
    secretAccessKey: string('secretAccessKey'),
    sessionToken: string('sessionToken'),
    consistentRead: boolean('consistentRead'),
    readCapacityUnits: number('readCapacityUnits', { integer: true, min: 1, max: 40000 }) ?? 5,
    writeCapacityUnits: number('writeCapacityUnits', { integer: true, min: 1, max: 40000 }) ?? 5,
    connectTimeoutMs: number('connectTimeout', { min: 1, max: HOUR_MS }),
    attemptTimeoutMs: number('attemptTimeout', { min: 1, max: HOUR_MS }),
    operationTimeoutMs: number('operationTimeout', { min: 1, max: HOUR_MS }),
    maxAttempts: number('maxAttempts', { integer: true, min: 1, max: 10 }),
    scanSegments: number('scanSegments', { integer: true, min: 1, max: 64 }),
  }
  if (n.sessionToken && !n.accessKeyId) {
    throw configError('sessionToken', 'goes with accessKeyId and secretAccessKey')
  }
  const touchAfter = number('touchAfter', { max: CENTURY_S })
  if (touchAfter !== undefined) n.touchAfterMs = touchAfter * 1000

  let ttl
  if (typeof options.ttl === 'function') {
    ttl = options.ttl
  } else if (given('ttl')) {
    n.defaultLifetimeMs = number('ttl', { min: 1, max: CENTURY_S }) * 1000
  }

  // connect-dynamodb 3.x: `reapInterval` in milliseconds, 0 or absent for none.
  const reapInterval = number('reapInterval', { max: CENTURY_S * 1000 }) || 0
  if (reapInterval > 0) {
    if (reapInterval < 1000) throw configError('reapInterval', 'must be at least 1000 ms, or 0 for none')
    n.reapIntervalMs = reapInterval
  }

  // Table creation, with connect-dynamodb 3.x's defaults: check the table on first use and
  // create it when missing, with 5 provisioned read and write capacity units.
  const initialized = boolean('initialized') ?? false
  let createTable = !initialized
  const create = options.createTable
  if (create === false) {
    createTable = false
  } else if (create === true || create == null) {
    n.billingMode = 'PROVISIONED'
  } else if (typeof create === 'object' && !Array.isArray(create)) {
    for (const key of Object.keys(create)) {
      if (!['billingMode', 'readCapacityUnits', 'writeCapacityUnits'].includes(key)) {
        throw configError(`createTable.${key}`, 'is not an option of createTable')
      }
    }
    const mode = create.billingMode ?? 'PROVISIONED'
    if (mode !== 'PROVISIONED' && mode !== 'PAY_PER_REQUEST') {
      throw configError('createTable.billingMode', 'must be PAY_PER_REQUEST or PROVISIONED')
    }
    n.billingMode = mode
    for (const key of ['readCapacityUnits', 'writeCapacityUnits']) {
      if (create[key] !== undefined) {
        if (!Number.isInteger(create[key]) || create[key] < 1) {
          throw configError(`createTable.${key}`, 'must be a whole number of at least 1')
        }
        n[key] = create[key]
      }
    }
  } else {
    throw configError('createTable', 'must be true, false or an object')
  }

  let specialKeys = []
  if (given('specialKeys')) {
    if (!Array.isArray(options.specialKeys)) throw configError('specialKeys', 'must be an array')
    specialKeys = options.specialKeys.map((key, i) => {
      if (!key || typeof key.name !== 'string' || !['S', 'N', 'B'].includes(key.type)) {
        throw configError(`specialKeys[${i}]`, 'must be { name: string, type: "S" | "N" | "B" }')
      }
      return { name: key.name, type: key.type }
    })
  }
  const skipThrowMissingSpecialKeys = boolean('skipThrowMissingSpecialKeys') ?? false

  const client = options.client
  if (given('client') && (typeof client !== 'object' || !client.config || typeof client.send !== 'function')) {
    throw configError('client', 'must be a DynamoDBClient from @aws-sdk/client-dynamodb')
  }
  if (client && (n.accessKeyId || n.secretAccessKey)) {
    throw configError('client', 'give either a client or accessKeyId/secretAccessKey, not both')
  }

  try {
    native.checkOptions(n)
  } catch (err) {
    throw toStoreError(err)
  }
  return { native: n, ttl, initialized, createTable, specialKeys, skipThrowMissingSpecialKeys, client: client || null }
}

/**
 * The region, endpoint and credentials of an AWS SDK for JavaScript v3 client; the region and
 * endpoint only when the store's own options do not give them.
 */
async function clientSettings(client, own) {
  const config = client.config
  const settings = {}
  if (own.region) settings.region = own.region
  else if (typeof config.region === 'function') settings.region = await config.region()
  else if (typeof config.region === 'string') settings.region = config.region
  if (own.endpoint) {
    settings.endpoint = own.endpoint
  } else if (typeof config.endpoint === 'function') {
    const e = await config.endpoint()
    if (e?.hostname) {
      const port = e.port ? `:${e.port}` : ''
      settings.endpoint = `${e.protocol || 'https:'}//${e.hostname}${port}${e.path && e.path !== '/' ? e.path : ''}`
    }
  }
  if (typeof config.credentials === 'function') {
    // Asked by the native core whenever its cached credentials are about to expire, so
    // refreshing providers (SSO, STS, web identity) keep refreshing.
    settings.credentials = async () => {
      const c = await config.credentials()
      return {
        accessKeyId: c.accessKeyId,
        secretAccessKey: c.secretAccessKey,
        sessionToken: c.sessionToken,
        expirationMs: c.expiration instanceof Date ? c.expiration.getTime() : undefined,
      }
    }
  }
  return settings
}

/**
 * Calls `cb` once, on a later tick, or returns the promise when there is no callback. Every
 * failure becomes a SessionStoreError. A returned promise nobody waits on never becomes an
 * unhandled rejection (connect-dynamodb 3.x callers often call `destroy(sid)` and move on).
 */
function settle(promise, cb) {
  const settled = promise.catch((err) => {
    throw toStoreError(err)
  })
  if (typeof cb !== 'function') {
    settled.catch(() => {})
    return settled
  }
  settled.then(
    (value) => process.nextTick(cb, null, value),
    (err) => process.nextTick(cb, err),
  )
  return undefined
}

function checkSid(sid) {
  if (typeof sid !== 'string' || sid.length === 0) {
    throw new SessionStoreError('INVALID_ARGUMENT', 'the session id must be a non-empty string')
  }
  return sid
}

/** Builds the store class on a given express-session-like `Store` base class. */
function defineStore(Base) {
  class DynamoDBStore extends Base {
    /**
     * @param {import('./index').DynamoDBStoreOptions} [options]
     */
    constructor(options) {
      const parsed = parseOptions(options)
      super(options || {})
      Object.defineProperty(this, '_options', { value: parsed })
      this._connecting = null
      this._ready = null
      this._readyStore = null
      this._reaping = false
      this._connected = true
      this._probe = null
      this._probeAttempt = 0
      this.client = parsed.client
      this.table = parsed.native.table ?? 'sessions'
      this.prefix = parsed.native.prefix ?? 'sess:'
      this.hashKey = parsed.native.hashKey ?? 'id'
      this.initialized = parsed.initialized
      // connect-dynamodb 3.x starts reaping at construction.
      if (parsed.native.reapIntervalMs) this._store().catch(() => {})
    }

    /** The native store, built on first use. */
    _connect() {
      if (!this._connecting) {
        this._connecting = this._build().catch((err) => {
          this._connecting = null
          throw toStoreError(err)
        })
      }
      return this._connecting
    }

    async _build() {
      const opts = this._options
      let n = opts.native
      let credentials
      if (opts.client) {
        let settings
        try {
          settings = await clientSettings(opts.client, n)
        } catch (err) {
          throw new SessionStoreError(
            'INVALID_CONFIG',
            'invalid option `client`: its region, endpoint or credentials cannot be read',
            { cause: err },
          )
        }
        n = { ...n, region: settings.region, endpoint: settings.endpoint }
        credentials = settings.credentials
      }
      return native.openStore(n, credentials)
    }

    /** The native store, with the table checked (and created when allowed) on first use. */
    _store() {
      if (!this._ready) {
        this._ready = this._connect()
          .then(async (store) => {
            if (!this.initialized) {
              if (!(await store.tableExists())) {
                if (!this._options.createTable) {
                  throw new SessionStoreError('TABLE_NOT_FOUND', `the table \`${this.table}\` does not exist`)
                }
                await store.createTable()
              }
              this.initialized = true
            }
            this._startReaper(store)
            this._readyStore = store
            return store
          })
          .catch((err) => {
            this._ready = null
            throw toStoreError(err)
          })
      }
      return this._ready
    }

    _startReaper(store) {
      const interval = this._options.native.reapIntervalMs
      if (interval && !this._reaping) {
        store.startReaper(interval)
        this._reaping = true
      }
    }

    /** Runs a native call, keeping the connect/disconnect state in step with its outcome. */
    _call(method, ...args) {
      // Once the store is ready, calls go straight to it: one promise less per request.
      const ready = this._readyStore
      const pending = ready ? ready[method](...args) : this._store().then((store) => store[method](...args))
      return pending.then(
        (value) => {
          this._reachable()
          return value
        },
        (err) => {
          const error = toStoreError(err)
          if (UNREACHABLE.has(error.code)) this._unreachable()
          throw error
        },
      )
    }

    /** Emits an event on a later tick, so a throwing listener cannot fail a store call. */
    _emitLater(event) {
      process.nextTick(() => this.emit(event))
    }

    _reachable() {
      if (this._connected) return
      this._connected = true
      this._stopProbe()
      this._emitLater('connect')
    }

    _unreachable() {
      if (!this._connected) return
      this._connected = false
      this._probeAttempt = 0
      this._scheduleProbe()
      this._emitLater('disconnect')
    }

    /**
     * express-session stops calling a disconnected store, so the store asks DynamoDB itself
     * (DescribeTable, which costs no capacity) until it answers: soon, then every 5 s, one
     * question at a time. The timer never keeps the process alive.
     */
    _scheduleProbe() {
      const delay = PROBE_DELAYS_MS[Math.min(this._probeAttempt, PROBE_DELAYS_MS.length - 1)]
      this._probeAttempt += 1
      this._probe = setTimeout(() => {
        this._call('tableExists').then(
          () => {},
          () => {
            if (!this._connected && this._probe) this._scheduleProbe()
          },
        )
      }, delay)
      this._probe.unref()
    }

    _stopProbe() {
      if (this._probe) clearTimeout(this._probe)
      this._probe = null
    }

    /** Stops the background reaper and the reconnection probe. The store stays usable. */
    close() {
      this.clearInterval()
      this._stopProbe()
    }

    /** When the session expires, in epoch milliseconds, or undefined for the default lifetime. */
    _expiresMs(sess) {
      const cookie = sess?.cookie
      if (cookie) {
        const expires = cookie.expires
        if (expires instanceof Date && !Number.isNaN(expires.getTime())) return expires.getTime()
        if (typeof expires === 'string' && !Number.isNaN(Date.parse(expires))) return Date.parse(expires)
        if (Number.isFinite(cookie.maxAge)) return Date.now() + cookie.maxAge
      }
      if (this._options.ttl) {
        let seconds
        try {
          seconds = this._options.ttl(sess)
        } catch (err) {
          throw new SessionStoreError('INVALID_ARGUMENT', 'the ttl function threw', { cause: err })
        }
        if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) {
          throw new SessionStoreError('INVALID_ARGUMENT', 'the ttl function must return a positive number of seconds')
        }
        return Date.now() + seconds * 1000
      }
      return undefined
    }

    _attributes(sess) {
      const attributes = []
      const missing = []
      for (const key of this._options.specialKeys) {
        const value = sess[key.name]
        if (value === undefined) {
          missing.push(key.name)
        } else if (key.type === 'B' && (typeof value === 'string' || value instanceof Uint8Array)) {
          attributes.push({ name: key.name, kind: 'B', bytes: Buffer.from(value) })
        } else if (key.type === 'N' && (Number.isFinite(value) || typeof value === 'bigint')) {
          attributes.push({ name: key.name, kind: 'N', text: String(value) })
        } else if (key.type === 'S' && typeof value === 'string') {
          attributes.push({ name: key.name, kind: 'S', text: value })
        } else {
          throw new SessionStoreError(
            'INVALID_ARGUMENT',
            `the special key \`${key.name}\` does not hold a value of type ${key.type}`,
          )
        }
      }
      if (missing.length > 0 && !this._options.skipThrowMissingSpecialKeys) {
        throw new SessionStoreError('INVALID_ARGUMENT', `the session lacks the special keys ${JSON.stringify(missing)}`)
      }
      return attributes
    }

    /** express-session: the session, or null when it is missing or expired. */
    get(sid, cb) {
      const run = async () => {
        const record = await this._call('get', checkSid(sid))
        return record ? JSON.parse(record.session) : null
      }
      return settle(run(), cb)
    }

    /** express-session: stores the session until its cookie expires. */
    set(sid, sess, cb) {
      const run = async () => {
        checkSid(sid)
        let json
        try {
          json = JSON.stringify(sess)
        } catch (err) {
          throw new SessionStoreError('SERIALIZATION', 'the session cannot be turned into JSON', { cause: err })
        }
        if (typeof json !== 'string' || !sess || typeof sess !== 'object') {
          throw new SessionStoreError('SERIALIZATION', 'the session must be an object')
        }
        const expires = this._expiresMs(sess)
        const attributes = this._attributes(sess)
        await this._call('set', sid, json, expires, attributes.length > 0 ? attributes : undefined)
      }
      return settle(run(), cb)
    }

    /**
     * express-session: marks the session active by moving its expiry. Writes nothing when
     * the move is within `touchAfter`, and never re-creates a destroyed session.
     */
    touch(sid, sess, cb) {
      const run = async () => {
        const expires = this._expiresMs(sess)
        const outcome = await this._call('touch', checkSid(sid), expires)
        if (outcome === 'notFound') return null
        return { expires: this._expiresSeconds(expires), outcome }
      }
      return settle(run(), cb)
    }

    /** express-session: deletes the session. */
    destroy(sid, cb) {
      return settle((async () => this._call('destroy', checkSid(sid)))(), cb)
    }

    /** All live sessions, as an object keyed by session id (as express-session's MemoryStore). */
    all(cb) {
      const run = async () => {
        const entries = await this._call('all')
        const sessions = {}
        for (const e of entries) sessions[e.id] = JSON.parse(e.session)
        return sessions
      }
      return settle(run(), cb)
    }

    /** All live sessions with their ids and expiry: `[{ id, session, expires: Date }]`. */
    entries(cb) {
      const run = async () => {
        const entries = await this._call('all')
        return entries.map((e) => ({ id: e.id, session: JSON.parse(e.session), expires: new Date(e.expiresMs) }))
      }
      return settle(run(), cb)
    }

    /** The ids of all live sessions. */
    ids(cb) {
      return settle(this._call('ids'), cb)
    }

    /** The number of live sessions. */
    length(cb) {
      return settle(this._call('length'), cb)
    }

    /** Deletes every session of this store's prefix. */
    clear(cb) {
      return settle(
        this._call('clear').then(() => undefined),
        cb,
      )
    }

    /** One reaper pass: deletes expired sessions; resolves to `{ scanned, deleted }`. */
    reap(cb) {
      return settle(this._call('reap'), cb)
    }

    /** Stops the background reaper (connect-dynamodb 3.x's name). */
    clearInterval() {
      this._options.native.reapIntervalMs = undefined
      if (this._reaping) {
        this._reaping = false
        this._connect().then(
          (store) => store.stopReaper(),
          () => {},
        )
      }
    }

    /** Checks the table, creating it when missing and allowed (connect-dynamodb 3.x). */
    initialize(cb) {
      return settle(
        this._store().then(() => undefined),
        cb,
      )
    }

    /** What is wrong with the table: a list of problems, empty when none. */
    describeSessionsTable(cb) {
      return settle(
        this._connect().then((store) => store.verifyTable()),
        cb,
      )
    }

    /** Creates the table unless it exists, waits for it and enables TTL on `expires`. */
    createSessionsTable(cb) {
      return settle(
        this._connect().then((store) => store.createTable()),
        cb,
      )
    }

    /** The expiry the store writes for `sess`, in epoch seconds (connect-dynamodb 3.x). */
    getExpiresValue(sess) {
      return this._expiresSeconds(this._expiresMs(sess))
    }

    _expiresSeconds(ms) {
      const lifetime = this._options.native.defaultLifetimeMs ?? 86_400_000
      return Math.ceil((ms ?? Date.now() + lifetime) / 1000)
    }
  }
  return DynamoDBStore
}

const stores = new WeakMap()

/**
 * connect-dynamodb 3.x's factory: `require('connect-dynamodb')(session)` or
 * `require('connect-dynamodb')({ session })`, where `session` is express-session (or any
 * module with a `Store` class).
 */
function connectDynamoDB(connect) {
  const Base = connect && (connect.Store || connect.session?.Store)
  if (typeof Base !== 'function') {
    throw new TypeError('connect-dynamodb: pass express-session, or { session }, to get the store class')
  }
  let Store = stores.get(Base)
  if (!Store) {
    Store = defineStore(Base)
    stores.set(Base, Store)
  }
  return Store
}

/** The default base class: express-session's Store when installed, else an EventEmitter. */
function defaultBase() {
  try {
    return require('express-session').Store
  } catch {
    return EventEmitter
  }
}

let DefaultStore
Object.defineProperty(connectDynamoDB, 'DynamoDBStore', {
  enumerable: true,
  get() {
    DefaultStore ??= connectDynamoDB({ Store: defaultBase() })
    return DefaultStore
  },
})
connectDynamoDB.SessionStoreError = SessionStoreError
connectDynamoDB.default = connectDynamoDB

module.exports = connectDynamoDB
