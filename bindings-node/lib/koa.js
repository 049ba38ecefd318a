'use strict'
/**
 * connect-dynamodb/koa: a store for koa-session 7 (`session({ store }, app)`). It takes the
 * options of the express store and holds one (lib/store.js) without express-session: the same
 * native core, table, items, table setup on first use, reaper and errors. Only koa-session's
 * calling convention is here: `get(key, maxAge, { rolling, ctx })`, `set(key, sess, maxAge,
 * { rolling, changed, ctx })` and `destroy(key, { ctx })`, all returning promises.
 */
const { EventEmitter } = require('node:events')

const { SessionStoreError, toStoreError } = require('./errors')
const { defineStore } = require('./store')

/** The express store on a plain EventEmitter: what each koa store holds. */
let Engine

/**
 * When a session saved with koa-session's `maxAge` argument expires, as a function of the session
 * for the engine's `_save`: a number is milliseconds from now on the store's clock (koa-session
 * already adds 10 s to its own maxAge, so the store outlives the cookie); `'session'` (a browser
 * session cookie) or undefined (no maxAge given) is the store's default lifetime (the `ttl`
 * option, a function of the session or seconds, else the core's one day). The string never
 * reaches DynamoDB.
 */
function expiresOf(engine, maxAge) {
  if (typeof maxAge === 'number') return () => engine._options.config.now() + maxAge
  if (maxAge == null || maxAge === 'session') return (sess) => engine._defaultExpiresMs(sess)
  throw new SessionStoreError('INVALID_ARGUMENT', "maxAge must be a number of milliseconds, 'session' or undefined")
}

/** Whether `ctx` can key a WeakMap (koa's context is an object; a direct caller may pass none). */
function isContext(ctx) {
  return ctx !== null && (typeof ctx === 'object' || typeof ctx === 'function')
}

class DynamoDBStore {
  /**
   * @param {import('../koa').DynamoDBStoreOptions} [options] the express store's options.
   */
  constructor(options) {
    Engine ??= defineStore(EventEmitter)
    const engine = new Engine(options)
    Object.defineProperty(this, '_engine', { value: engine })
    // With `merge` on: the version each request's `get` loaded, per key, for its `set` to save
    // against (koa-session hands `set` a fresh object, so the token travels on `ctx`).
    Object.defineProperty(this, '_loaded', { value: new WeakMap() })
    // The keys each request read or wrote: koa-session reads every key it was sent, so a key
    // `destroy` is asked to end that its request never read is a fresh one, never stored.
    Object.defineProperty(this, '_seen', { value: new WeakMap() })
    this.table = engine.table
    this.prefix = engine.prefix
    this.hashKey = engine.hashKey
  }

  _remember(ctx, key, version) {
    if (!isContext(ctx)) return
    if (version == null) {
      this._loaded.get(ctx)?.delete(key)
      return
    }
    let versions = this._loaded.get(ctx)
    if (!versions) {
      versions = new Map()
      this._loaded.set(ctx, versions)
    }
    versions.set(key, version)
  }

  _see(ctx, key) {
    if (!isContext(ctx)) return
    let keys = this._seen.get(ctx)
    if (!keys) {
      keys = new Set()
      this._seen.set(ctx, keys)
    }
    keys.add(key)
  }

  _token(ctx, key) {
    return isContext(ctx) ? this._loaded.get(ctx)?.get(key) : undefined
  }

  /**
   * koa-session: the session stored under `key`, exactly as `set` was given it (`_expire`,
   * `_maxAge`, `_session` included), or null when it is missing, expired or ended (koa-session
   * then starts a new session). `maxAge` and `rolling` do not change what is read: one GetItem.
   */
  async get(key, _maxAge, options) {
    this._see(options?.ctx, key)
    try {
      const record = await this._engine._load(key)
      if (!record) return null
      const sess = JSON.parse(record.session)
      if (record.version != null) this._remember(options?.ctx, key, record.version)
      return sess
    } catch (err) {
      const error = toStoreError(err)
      // A key the client sent that cannot be a key (too long): no session, a new one starts.
      if (error.code === 'INVALID_ARGUMENT') return null
      throw error
    }
  }

  /**
   * koa-session: stores the whole session `sess` under `key` (whatever `changed` says: forced
   * saves, `regenerate()` and `maxAge` changes carry content too) until `maxAge` milliseconds
   * from now, or for the store's default lifetime when `maxAge` is `'session'` or undefined. A
   * session destroyed moments ago (its tombstone) or past `absoluteTimeout` stays ended: nothing
   * is written. With `merge` on, a session this request loaded is saved against that version.
   */
  async set(key, sess, maxAge, options) {
    try {
      const ctx = options?.ctx
      this._see(ctx, key)
      const saved = await this._engine._save(key, sess, expiresOf(this._engine, maxAge), this._token(ctx, key))
      this._remember(ctx, key, saved.version)
    } catch (err) {
      throw toStoreError(err)
    }
  }

  /**
   * koa-session: ends the session (`ctx.session = null`, or the old key of `regenerate()`). A
   * key that was never stored is fine: koa-session destroys fresh keys too. Given the request's
   * `ctx`, a key that request never read nor wrote is such a fresh key: nothing is written (a
   * tombstone for it would only cost a write, for any client that asks).
   */
  async destroy(key, options) {
    const ctx = options?.ctx
    if (isContext(ctx) && !this._seen.get(ctx)?.has(key)) return
    try {
      await this._engine.destroy(key)
      this._remember(options?.ctx, key, undefined)
    } catch (err) {
      throw toStoreError(err)
    }
  }

  /** The live sessions of `user` (the `userField` session field), as the express store's. */
  userSessions(user) {
    return this._engine.userSessions(user)
  }

  /** Ends every live session of `user` but `options.except`; resolves to how many it ended. */
  endUserSessions(user, options) {
    return this._engine.endUserSessions(user, options)
  }

  /** All live sessions with their keys and expiry: `[{ id, session, expires: Date }]`. */
  entries() {
    return this._engine.entries()
  }

  /** The number of live sessions. */
  length() {
    return this._engine.length()
  }

  /** Deletes every session of this store's prefix. */
  clear() {
    return this._engine.clear()
  }

  /** One reaper pass: deletes expired sessions; resolves to `{ scanned, deleted }`. */
  reap() {
    return this._engine.reap()
  }

  /** Rewrites idle sessions under the first encryption key; see the express store's. */
  reencrypt() {
    return this._engine.reencrypt()
  }

  /** Creates the table unless it exists, waits for it and enables TTL: `{ created, problems }`. */
  createSessionsTable() {
    return this._engine.createSessionsTable()
  }

  /** What is wrong with the table: a list of problems, empty when none. */
  verifySessionsTable() {
    return this._engine.verifySessionsTable()
  }

  /** Stops the background reaper and the reconnection probe. The store stays usable. */
  close() {
    this._engine.close()
  }
}

module.exports = { DynamoDBStore, SessionStoreError }
