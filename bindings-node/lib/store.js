'use strict'
// DynamoDBStore: express-session's Store contract (and connect-dynamodb 3.x's whole surface)
// over the native store (src/store.rs). Callback plumbing, the connect/disconnect events, the
// lazily built `client`, and first use through `initialize()`, as 3.x has it.
const { SessionStoreError, toStoreError } = require('./errors')
const { parseOptions, clientSettings } = require('./options')

/** When a disconnected store asks DynamoDB whether it answers again: soon, then less often. */
const PROBE_DELAYS_MS = [250, 500, 1000, 2000, 5000]
/** Error codes after which the store tells express-session it is disconnected. */
const UNREACHABLE = new Set(['TRANSPORT', 'TIMEOUT'])

/**
 * The load token of a session (with `merge` on): the version `get` read, carried by the session
 * object to its `set`, which saves the request's changes against exactly what it loaded. A
 * non-enumerable symbol property: JSON.stringify, for...in, Object.keys, spreads and
 * express-session's modification hash never see it, so it is never stored.
 */
const LOADED = Symbol('connect-dynamodb.loaded')

/** Puts the load token `version` on the session object `sess` (when it can hold one). */
function carryToken(sess, version) {
  if (sess !== null && typeof sess === 'object') {
    Reflect.defineProperty(sess, LOADED, { value: version, writable: true, configurable: true, enumerable: false })
  }
}

/** The load token `sess` carries: the version its request loaded, or undefined (not loaded). */
function tokenOf(sess) {
  return sess !== null && typeof sess === 'object' ? sess[LOADED] : undefined
}

/**
 * Calls `cb` once, on a later tick, or returns the promise when there is no callback. Every
 * failure becomes a SessionStoreError. A returned promise nobody waits on never becomes an
 * unhandled rejection (connect-dynamodb 3.x callers often call `destroy(sid)` and move on).
 */
function settle(promise, cb) {
  if (typeof cb !== 'function') {
    const settled = promise.catch((err) => {
      throw toStoreError(err)
    })
    settled.catch(() => {})
    return settled
  }
  promise.then(
    (value) => process.nextTick(cb, null, value),
    (err) => process.nextTick(cb, toStoreError(err)),
  )
  return undefined
}

/** The session object of a native record (null for none), carrying its load token. */
function sessionOf(record) {
  if (!record) return null
  const sess = JSON.parse(record.session)
  if (record.version != null) carryToken(sess, record.version)
  return sess
}

function checkSid(sid) {
  if (typeof sid !== 'string' || sid.length === 0) {
    throw new SessionStoreError('INVALID_ARGUMENT', 'the session id must be a non-empty string')
  }
  return sid
}

/**
 * A user id as the store indexes it: the value of the `userField` session field, a string or a
 * whole number, as its text (`42` is indexed as `'42'`).
 */
function checkUser(user) {
  if (typeof user === 'string') return user
  if (Number.isSafeInteger(user)) return String(user)
  throw new SessionStoreError('INVALID_ARGUMENT', 'the user id must be a string or a whole number')
}

/** Whether `describeSessionsTable()` failed because the table is missing (ours, or 3.x's SDK call). */
function isMissingTable(err) {
  return err?.code === 'TABLE_NOT_FOUND' || err?.name === 'ResourceNotFoundException'
}

/** A DynamoDBClient from @aws-sdk/client-dynamodb (an optional peer dependency), or null. */
function buildClient(config) {
  let sdk
  try {
    sdk = require('@aws-sdk/client-dynamodb')
  } catch {
    return null
  }
  const settings = {}
  for (const [key, value] of Object.entries(config)) if (value !== undefined) settings[key] = value
  return new sdk.DynamoDBClient(settings)
}

/** Builds the store class on a given express-session-like `Store` base class. */
function defineStore(Base) {
  class DynamoDBStore extends Base {
    /**
     * @param {import('../index').DynamoDBStoreOptions} [options]
     */
    constructor(options) {
      const parsed = parseOptions(options)
      super(options || {})
      Object.defineProperty(this, '_options', { value: parsed })
      this._connecting = null
      this._readying = null
      this._readyStore = null
      this._initializing = null
      this._reaping = false
      this._reapStopped = false
      this._connected = true
      this._probe = null
      this._probeAttempt = 0
      this.table = parsed.config.table
      this.prefix = parsed.config.prefix
      this.hashKey = parsed.config.hashKey
      this.initialized = parsed.initialized
      // connect-dynamodb 3.x starts reaping at construction.
      if (parsed.reaps) this._ready().catch(() => {})
    }

    /**
     * The DynamoDBClient given as `client`, or one built on first read from the store's region,
     * endpoint and static credentials when @aws-sdk/client-dynamodb is installed (null when it
     * is not). The store itself talks to DynamoDB through its native core.
     */
    get client() {
      if (this._client === undefined) this._client = this._options.client ?? buildClient(this._options.clientConfig)
      return this._client
    }

    set client(client) {
      this._client = client
    }

    /** The native store, built on first use. */
    _connect() {
      if (!this._connecting) {
        this._connecting = this._open().catch((err) => {
          this._connecting = null
          throw toStoreError(err)
        })
      }
      return this._connecting
    }

    async _open() {
      const { config, client, clientConfig } = this._options
      let settings = {}
      if (client) {
        try {
          settings = await clientSettings(client, clientConfig)
        } catch (err) {
          throw new SessionStoreError(
            'INVALID_CONFIG',
            'invalid option `client`: its region, endpoint or credentials cannot be read',
            { cause: err },
          )
        }
      }
      return config.open(settings.region, settings.endpoint)
    }

    /**
     * The native store, after `initialize()` and with the reaper started. `initialize()` is
     * called through the instance, as connect-dynamodb 3.x does, so a subclass's or a
     * monkey-patched `initialize` is the one that runs.
     */
    _ready() {
      if (!this._readying) {
        this._readying = (async () => {
          const store = await this._connect()
          await this.initialize()
          this._startReaper(store)
          this._readyStore = store
          return store
        })().catch((err) => {
          this._readying = null
          throw toStoreError(err)
        })
      }
      return this._readying
    }

    _startReaper(store) {
      if (!this._reapStopped && !this._reaping && this._options.reaps) {
        store.startReaper()
        this._reaping = true
      }
    }

    /** Runs a native call, keeping the connect/disconnect state in step with its outcome. */
    _call(method, ...args) {
      // Once the store is ready, calls go straight to it: one promise less per request.
      const ready = this._readyStore
      const pending = ready ? ready[method](...args) : this._ready().then((store) => store[method](...args))
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

    /** The throttled outcome of a touch when the ready store decides it at once, else null. */
    _quickTouch(sid, expiresMs) {
      const ready = this._readyStore
      if (!ready || typeof sid !== 'string' || sid === '') return null
      try {
        return ready.touchIfThrottled(sid, expiresMs)
      } catch {
        return null
      }
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
        if (Number.isFinite(cookie.maxAge)) return this._options.config.now() + cookie.maxAge
      }
      return this._defaultExpiresMs(sess)
    }

    /**
     * When a session with no expiry of its own expires, in epoch milliseconds: from the `ttl`
     * function, or undefined for the default lifetime (the `ttl` number, else the core's).
     */
    _defaultExpiresMs(sess) {
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
        return this._options.config.now() + seconds * 1000
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

    /**
     * express-session: the session, or null when it is missing or expired. With `merge` on,
     * the session carries the version it was loaded at (a non-enumerable symbol property, never
     * stored): pass this same object (or express-session's `req.session` built from it, see
     * `createSession`) to `set`, which then merges this request's changes from what it loaded.
     */
    get(sid, cb) {
      // Plain promise chaining rather than an async function: the call every page view makes
      // settles on the fewest microtask hops.
      let loading
      try {
        loading = this._load(sid)
      } catch (err) {
        loading = Promise.reject(err)
      }
      return settle(loading.then(sessionOf), cb)
    }

    /**
     * express-session: stores the session until its cookie expires. A session destroyed
     * moments ago (its tombstone) or past `absoluteTimeout` stays ended: nothing is written,
     * and the call succeeds all the same, so a slow request that loaded the session before a
     * logout cannot log the user in again. With `merge` on, a session that carries its load
     * token (from `get`) is saved against what was loaded, and then carries the version written
     * (so a further save of the same request does not merge against its own first save); one
     * without (a new or regenerated session) replaces what is stored.
     */
    set(sid, sess, cb) {
      let saving
      try {
        saving = this._save(sid, sess, (s) => this._expiresMs(s), tokenOf(sess))
      } catch (err) {
        // A `_save` replaced by one that throws rather than rejects.
        saving = Promise.reject(err)
      }
      const saved = saving.then((outcome) => {
        if (outcome.version != null) carryToken(sess, outcome.version)
      })
      return settle(saved, cb)
    }

    /**
     * The stored record of `sid` (the native `get`: `{ session, expiresMs, version? }`), or
     * null when it is missing or expired. Shared with the koa store (lib/koa.js).
     */
    _load(sid) {
      return this._call('get', checkSid(sid))
    }

    /**
     * Writes the whole session object `sess` as JSON until `expiresOf(sess)` (epoch
     * milliseconds, or undefined for the default lifetime), with the special keys, against the
     * load token `loaded` (or replacing what is stored when undefined); resolves to the native
     * `{ outcome, version? }`. Shared with the koa store (lib/koa.js).
     */
    async _save(sid, sess, expiresOf, loaded) {
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
      const expires = expiresOf(sess)
      const attributes = this._attributes(sess)
      return this._call('set', sid, json, expires, attributes.length > 0 ? attributes : undefined, undefined, loaded)
    }

    /**
     * express-session: marks the session active by moving its expiry. Writes nothing when
     * the move is within `touchAfter`, and never re-creates a destroyed session. Resolves to
     * `{ expires, outcome }`, `expires` being the expiry left stored (whole epoch seconds,
     * rounded up), or to null when no live session has this id.
     */
    touch(sid, sess, cb) {
      const run = async () => {
        const expires = this._expiresMs(sess)
        // A throttled touch (most read-only views) is decided here, without the runtime; any
        // other case, errors included, takes the usual path.
        const quick = this._quickTouch(sid, expires)
        if (quick) return { expires: quick.expires, outcome: quick.outcome }
        const touched = await this._call('touch', checkSid(sid), expires)
        if (touched.outcome === 'notFound') return null
        return { expires: touched.expires, outcome: touched.outcome }
      }
      return settle(run(), cb)
    }

    /**
     * express-session: ends the session. One write: a tombstone that lives `tombstoneLifetime`
     * (a late `set` or `touch` of the id then writes nothing), or a delete with
     * `tombstoneLifetime: 0`.
     */
    destroy(sid, cb) {
      return settle((async () => this._call('destroy', checkSid(sid)))(), cb)
    }

    /**
     * The live sessions of `user` (the value of the `userField` session field), from the table's
     * `user-index`: `[{ id, expires: Date, created: Date | null }]`. The index is eventually
     * consistent: a session saved a moment ago may be missing, one ended a moment ago listed.
     */
    userSessions(user, cb) {
      const run = async () => {
        const sessions = await this._call('userSessions', checkUser(user))
        return sessions.map((s) => ({
          id: s.id,
          expires: new Date(s.expiresMs),
          created: s.createdMs == null ? null : new Date(s.createdMs),
        }))
      }
      return settle(run(), cb)
    }

    /**
     * Ends every live session of `user` ("log out everywhere"), but `options.except` (the
     * current session's id, say); resolves to how many it ended.
     */
    endUserSessions(user, options, cb) {
      if (typeof options === 'function') {
        cb = options
        options = undefined
      }
      const run = async () => {
        const id = checkUser(user)
        if (options != null && typeof options !== 'object') {
          throw new SessionStoreError('INVALID_ARGUMENT', 'the options must be an object: { except }')
        }
        const except = options?.except
        if (except != null && typeof except !== 'string') {
          throw new SessionStoreError('INVALID_ARGUMENT', '`except` must be a session id')
        }
        return this._call('endUserSessions', id, except ?? undefined)
      }
      return settle(run(), cb)
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

    /**
     * Rewrites every live session of this store's prefix that is not encrypted with the first
     * of `encryptionKeys` (saved before encryption was on, or under a key being rotated out),
     * so that the old key can then be dropped; resolves to `{ scanned, rewritten, unreadable }`.
     * Sessions in use are re-encrypted by their next save anyway; this is for idle ones.
     * INVALID_CONFIG (`encryptionKeys`) when the store has no keys.
     */
    reencrypt(cb) {
      return settle(this._call('reencrypt'), cb)
    }

    /** Stops the background reaper (connect-dynamodb 3.x's name). */
    clearInterval() {
      this._reapStopped = true
      if (this._reaping) {
        this._reaping = false
        this._connect().then(
          (store) => store.stopReaper(),
          () => {},
        )
      }
    }

    /**
     * connect-dynamodb 3.x: checks the table through `describeSessionsTable()` and, when it is
     * missing, creates it through `createSessionsTable()` (unless `createTable: false`); once per
     * store, and not at all with `initialized: true`. Every first use of the store runs it
     * (`this.initialize()`, so a subclass may replace it).
     */
    initialize(cb) {
      return settle(this._initialize(), cb)
    }

    /** The default `initialize()`. */
    _initialize() {
      if (this.initialized) return Promise.resolve()
      this._initializing ??= (async () => {
        try {
          await this.describeSessionsTable()
        } catch (err) {
          if (!isMissingTable(err)) throw err
          if (!this._options.createTable) {
            throw err instanceof SessionStoreError
              ? err
              : new SessionStoreError('TABLE_NOT_FOUND', 'the table does not exist', { cause: err })
          }
          await this.createSessionsTable()
        }
        this.initialized = true
      })().finally(() => {
        this._initializing = null
      })
      return this._initializing
    }

    /**
     * connect-dynamodb 3.x: resolves (to undefined) when the table exists or DynamoDB denied
     * the DescribeTable permission (AccessDeniedException), rejects with TABLE_NOT_FOUND when
     * it is missing (DescribeTable only).
     */
    describeSessionsTable(cb) {
      return settle(
        this._connect().then((store) => store.checkTable()),
        cb,
      )
    }

    /**
     * connect-dynamodb 3.x: creates the table unless it exists, waits for it and enables TTL on
     * `expires`; resolves to `{ created, problems }`.
     */
    createSessionsTable(cb) {
      return settle(
        this._connect().then((store) => store.createTable()),
        cb,
      )
    }

    /** What is wrong with the table: a list of problems, empty when none; TABLE_NOT_FOUND when missing. */
    verifySessionsTable(cb) {
      return settle(
        this._connect().then((store) => store.verifyTable()),
        cb,
      )
    }

    /**
     * connect-dynamodb 3.x: the session in a GetItem output (`{ Item }`), read as the store reads
     * its own items, or null when the item is missing, expired, a tombstone, past the absolute
     * timeout, a ghost or damaged. Throws UNREADABLE for a session encrypted with a key the
     * store lacks (or in a newer format), as `get` rejects.
     */
    getParsedSession(output) {
      // The item's string, number and binary attributes, for the core to read.
      const item = {}
      for (const [name, value] of Object.entries(output?.Item ?? {})) {
        if (typeof value?.S === 'string') item[name] = { S: value.S }
        else if (typeof value?.N === 'string' || typeof value?.N === 'number') item[name] = { N: String(value.N) }
        else if (value?.B instanceof Uint8Array) item[name] = { B: value.B }
      }
      let session
      try {
        session = this._options.config.parseItem(item)
      } catch (err) {
        throw toStoreError(err)
      }
      return session == null ? null : JSON.parse(session)
    }

    /** The expiry the store writes for `sess`, in epoch seconds (connect-dynamodb 3.x). */
    getExpiresValue(sess) {
      try {
        return this._options.config.expiresValue(this._expiresMs(sess))
      } catch (err) {
        throw toStoreError(err)
      }
    }
  }
  if (typeof Base.prototype.createSession === 'function') {
    /**
     * express-session (and connect): builds `req.session` from what `get` returned. The base
     * copies only the enumerable properties, so the load token is carried over here.
     */
    Object.defineProperty(DynamoDBStore.prototype, 'createSession', {
      configurable: true,
      writable: true,
      value: function createSession(req, sess) {
        const token = tokenOf(sess)
        const created = Base.prototype.createSession.call(this, req, sess)
        if (token !== undefined) carryToken(created ?? req.session, token)
        return created
      },
    })
  }
  return DynamoDBStore
}

module.exports = { defineStore }
