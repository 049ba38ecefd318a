// Types of connect-dynamodb/koa (lib/koa.js): a store for koa-session 7. Checked by
// test/koa.test-d.ts against koa-session's own store type.
import type connectDynamoDB = require('./index')

/**
 * A session as koa-session hands it to the store and reads it back: the session's fields plus
 * koa-session's own `_expire` (epoch milliseconds) and `_maxAge`, or `_session: true` for a
 * browser-session cookie.
 */
export interface KoaSessionData {
  _expire?: number
  _maxAge?: number
  _session?: true
  [field: string]: unknown
}

/**
 * The express store's options (see `DynamoDBStoreOptions` of `connect-dynamodb`); `ttl` is the
 * lifetime in seconds of sessions saved with koa-session's `maxAge: 'session'` (or none), or a
 * function of the session giving it.
 */
export interface DynamoDBStoreOptions extends Omit<connectDynamoDB.DynamoDBStoreOptions, 'ttl'> {
  ttl?: number | ((session: KoaSessionData) => number)
}

/** What koa-session passes as its last argument; `ctx` is koa's context. */
export interface KoaStoreCallOptions {
  rolling?: boolean
  changed?: boolean
  ctx?: any
}

/** A DynamoDB session store for koa-session 7: `session({ store: new DynamoDBStore(options) }, app)`. */
export declare class DynamoDBStore {
  constructor(options?: DynamoDBStoreOptions)
  readonly table: string
  readonly prefix: string
  readonly hashKey: string
  /**
   * The session stored under `key`, exactly as `set` was given it, or `null` when it is missing,
   * expired or ended. One GetItem.
   */
  get(key: string, maxAge?: number | 'session', options?: KoaStoreCallOptions): Promise<KoaSessionData | null>
  /**
   * Stores the whole session (whatever `changed` says) until `maxAge` milliseconds from now, or
   * for the store's default lifetime (`ttl`) when `maxAge` is `'session'` or undefined. A
   * session destroyed moments ago (see `tombstoneLifetime`) or past `absoluteTimeout` stays
   * ended: nothing is written and the call succeeds.
   */
  set(key: string, session: KoaSessionData, maxAge?: number | 'session', options?: KoaStoreCallOptions): Promise<void>
  /** Ends the session; a key never stored is fine. */
  destroy(key: string, options?: KoaStoreCallOptions): Promise<void>
  /** The live sessions of a user (the `userField` session field), from the table's `user-index`. */
  userSessions(user: string | number): Promise<connectDynamoDB.UserSession[]>
  /** Ends every live session of a user but `except`; resolves to how many it ended. */
  endUserSessions(user: string | number, options?: connectDynamoDB.EndUserSessionsOptions): Promise<number>
  /** All live sessions with their keys and expiry. */
  entries(): Promise<Array<{ id: string; session: KoaSessionData; expires: Date }>>
  /** The number of live sessions. */
  length(): Promise<number>
  /** Deletes every session of this store's prefix. */
  clear(): Promise<void>
  /** One reaper pass: deletes expired sessions. */
  reap(): Promise<{ scanned: number; deleted: number }>
  /** Rewrites idle sessions under the first of `encryptionKeys` (see the express store's). */
  reencrypt(): Promise<connectDynamoDB.ReencryptResult>
  /** Creates the table unless it exists, waits for it and enables TTL on `expires`. */
  createSessionsTable(): Promise<{ created: boolean; problems: string[] }>
  /** What is wrong with the table: a list of problems, empty when none. */
  verifySessionsTable(): Promise<string[]>
  /** Stops the background reaper and the reconnection probe; the store stays usable. */
  close(): void
}

export type SessionStoreError = connectDynamoDB.SessionStoreError
export declare const SessionStoreError: typeof connectDynamoDB.SessionStoreError
