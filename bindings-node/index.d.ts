// Types of the npm package connect-dynamodb (index.js). Checked by test/types.test-d.ts, against
// connect-dynamodb 3.0.5's own types by test/compat.test-d.ts, and without the optional peer
// @aws-sdk/client-dynamodb by test/surface.test.js.
import { EventEmitter } from 'node:events'
// @aws-sdk/client-dynamodb is an optional peer dependency: without it this import is an error
// type (the error is ignored, so these types compile with `skipLibCheck: false` too), and
// `StoreClient` falls back to the structural `DynamoDBClientLike`.
// @ts-ignore: the module may be missing
import type { DynamoDBClient as SdkDynamoDBClient } from '@aws-sdk/client-dynamodb'
// express-session is an optional peer dependency too: connect-dynamodb/koa's types (koa.d.ts)
// import these without it (test/koa.test.js compiles them so, with `skipLibCheck: false`).
// @ts-ignore: the module may be missing
import type { SessionData, Store } from 'express-session'
import type { ManualClock } from './native'

declare namespace connectDynamoDB {
  /**
   * The stable code of every failure; the README's error table says when each occurs. The
   * core's list of error kinds (test/surface.test.js holds this union to it).
   */
  type ErrorCode =
    | 'INVALID_CONFIG'
    | 'INVALID_ARGUMENT'
    | 'ITEM_TOO_LARGE'
    | 'SERIALIZATION'
    | 'TABLE_NOT_FOUND'
    | 'THROTTLED'
    | 'CONFLICT'
    | 'AUTH'
    | 'TIMEOUT'
    | 'TRANSPORT'
    | 'SERVICE'
    | 'INTERNAL'
    | 'UNREADABLE'

  /** Every error the store gives, through a callback or a rejected promise. */
  class SessionStoreError extends Error {
    constructor(code: ErrorCode, message: string, details?: { retryable?: boolean; cause?: unknown })
    readonly name: 'SessionStoreError'
    /** The stable error code. */
    readonly code: ErrorCode
    /** Whether the same call may succeed later; by default the core's default for `code`. */
    readonly retryable: boolean
    readonly cause?: unknown
  }

  /** A top-level session field copied into an item attribute (connect-dynamodb 3.x). */
  interface SpecialKey {
    /** The session field, and the attribute's name. */
    name: string
    /** The DynamoDB attribute type. */
    type: 'S' | 'N' | 'B'
  }

  /** connect-dynamodb 3.x's name of `SpecialKey`. */
  type DynamoDBStoreOptionsSpecialKey = SpecialKey

  /** Table creation on first use. */
  interface CreateTableOptions {
    /** Default `PROVISIONED`, as connect-dynamodb 3.x. */
    billingMode?: 'PAY_PER_REQUEST' | 'PROVISIONED'
    readCapacityUnits?: number
    writeCapacityUnits?: number
  }

  /** What the store reads of the `client` option: the subset of a `DynamoDBClient` of @aws-sdk/client-dynamodb. */
  interface DynamoDBClientLike {
    send(...args: any[]): Promise<unknown>
    config: {
      region?: string | (() => Promise<string>)
      endpoint?: () => Promise<{ protocol?: string; hostname: string; port?: number; path?: string }>
      credentials?: () => Promise<{
        accessKeyId: string
        secretAccessKey: string
        sessionToken?: string
        expiration?: Date
      }>
    }
  }

  /**
   * `store.client`: a `DynamoDBClient` of @aws-sdk/client-dynamodb when it is installed; else
   * the `client` option, or null without one. (A missing module's type has every key: `keyof`
   * tells it from the SDK's class.)
   */
  type StoreClient = string extends keyof SdkDynamoDBClient ? DynamoDBClientLike | null : SdkDynamoDBClient

  /** An attribute value of a DynamoDB item, as `getParsedSession` reads it (`expires` N, `sess` S or B). */
  interface AttributeValueLike {
    S?: string
    N?: string
    B?: Uint8Array
  }

  /**
   * A key: its bytes (a `Buffer` or any `Uint8Array`), or base64 text (standard or URL-safe,
   * padded or not).
   */
  type Key = Uint8Array | string

  /** What `reencrypt` did. */
  interface ReencryptResult {
    /** Items scanned. */
    scanned: number
    /** Live sessions rewritten under the first of `encryptionKeys`. */
    rewritten: number
    /**
     * Live sessions left as they were because they cannot be read: encrypted with a key the
     * store lacks, in a newer item format, or damaged.
     */
    unreadable: number
  }

  interface DynamoDBStoreOptions {
    /** Table name. Default `sessions`. */
    table?: string
    /** The table's string hash key. Default `id`. */
    hashKey?: string
    /** Put before every session id in the key. Default `sess:`. */
    prefix?: string
    /** Background reaper interval in milliseconds; 0 or absent for none (the default). */
    reapInterval?: number
    /** Static credentials; without them the AWS default provider chain is used. */
    accessKeyId?: string
    secretAccessKey?: string
    sessionToken?: string
    /** Provisioned capacity of a table created on first use. Default 5. */
    readCapacityUnits?: number | string
    /** Default 5. */
    writeCapacityUnits?: number | string
    /** Skip `initialize()` (the table check and creation) on first use. Default `false`. */
    initialized?: boolean
    /** Session fields copied into item attributes. */
    specialKeys?: SpecialKey[]
    /** Store sessions that lack a special key instead of failing. Default `false`. */
    skipThrowMissingSpecialKeys?: boolean
    /** A DynamoDB client of @aws-sdk/client-dynamodb whose region, endpoint and (refreshing) credentials are used. */
    client?: DynamoDBClientLike
    /** AWS region; default from the client or the environment. */
    region?: string
    /** Endpoint URL, e.g. `http://localhost:8000` for DynamoDB Local. */
    endpoint?: string
    /** Strongly consistent reads. Default `true`. */
    consistentRead?: boolean
    /** Seconds: a touch that moves the stored expiry by less than this writes nothing; 0 writes always. Default 600. */
    touchAfter?: number
    /** Lifetime in seconds of sessions whose cookie has no expiry, or a function of the session giving it. Default 86400. */
    ttl?: number | ((session: SessionData) => number)
    /** Create the table on first use when it is missing; `false` only checks it. Default `true` unless `initialized`. */
    createTable?: boolean | CreateTableOptions
    /** Milliseconds to open a connection. Default 2000. */
    connectTimeout?: number
    /** Milliseconds for one attempt of a request. Default 3000. */
    attemptTimeout?: number
    /** Milliseconds for a request with its retries. Default 8000. */
    operationTimeout?: number
    /** Attempts per request. Default 3. */
    maxAttempts?: number
    /** Parallel scan segments for all/ids/length/clear/reap. Default 4. */
    scanSegments?: number
    /**
     * Milliseconds a destroyed session's tombstone lives: until then a `set` or `touch` of its id
     * (a slow request that loaded the session before the logout) writes nothing and succeeds
     * quietly, so the session stays ended. 0 turns tombstones off (`destroy` deletes the item,
     * as connect-dynamodb 3.x). Default 3600000.
     */
    tombstoneLifetime?: number
    /**
     * Versioned writes: when another request saved the session after this one loaded it, the
     * save is refused, and the store merges at the top level of the session as stored now: the
     * keys this request changed are applied, the others keep the other request's values. A key
     * both changed takes this request's value (`'mine'`) or fails the save with `CONFLICT`
     * (`'error'`); `cookie` always takes this request's value. A conflict costs one more write
     * (the refused one), nothing else does. The session `get` returns carries the version it
     * was loaded at (a non-enumerable symbol property, never stored) to its `set`; express-session
     * and connect keep it on `req.session` (through `createSession`). @fastify/session copies
     * the session and drops it: there a save replaces what is stored (no merge, as off), one
     * write when this process read or wrote the stored version last, two when another process
     * saved since. Default off (`false`).
     */
    merge?: false | 'off' | 'mine' | 'error'
    /**
     * Milliseconds from a session's creation after which it is refused however active it is
     * (OWASP's absolute timeout); `touch` and `set` never extend it. Default none.
     */
    absoluteTimeout?: number
    /**
     * The session field that names the user, as a dotted path (`'userId'`, `'passport.user'`):
     * its value (a string or a whole number) is indexed, for `userSessions` and
     * `endUserSessions`. Needs the table's `user-index`, which `createSessionsTable()` adds.
     * Default none.
     */
    userField?: string
    /**
     * Encrypt sessions at rest (AES-256-GCM): keys of 32 bytes each. The first encrypts every
     * write; every one decrypts, so a new key goes first and the old one stays until
     * `reencrypt()` has rewritten the idle sessions. Sessions stored in plain text (before
     * encryption was on) are read, and encrypted by their next save. A session encrypted with
     * a key the store lacks gives `UNREADABLE`. An empty array turns encryption off. Default:
     * the keys in the environment variable `CONNECT_DYNAMODB_ENCRYPTION_KEYS` (base64,
     * separated by commas), none when it is unset.
     */
    encryptionKeys?: Key[]
    /**
     * Store a keyed hash (HMAC-SHA-256) of each session id instead of the id, so a copy of the
     * table gives no cookie: a key of 32 to 64 bytes. `ids()`, `all()` and `userSessions()` then
     * list the hashes, not the session ids. Changing or removing the key ends every session.
     * `false` turns hashing off. Default: the key in the environment variable
     * `CONNECT_DYNAMODB_ID_HASH_KEY` (base64), none when it is unset.
     */
    idHashKey?: Key | false
    /**
     * Compress (DEFLATE, before encrypting) sessions whose JSON is longer than this many bytes,
     * 0 to 16 MiB. Default none.
     */
    compressThreshold?: number
    /**
     * The `encryptionKeys` only decrypt: sessions are read encrypted or not and written
     * unencrypted. The first of two deploys that turn encryption on in a fleet that updates
     * process by process, so no process meets a session it cannot read. Default `false`.
     */
    decryptOnly?: boolean
    /** For tests: a `ManualClock` from `connect-dynamodb/testing` that every expiry and touch decision reads. */
    clock?: ManualClock
  }

  type Callback<T> = (err: SessionStoreError | null, value?: T) => void

  /** One of a user's sessions, as `userSessions` lists it. */
  interface UserSession {
    /** The session id. */
    id: string
    /** When the session expires. */
    expires: Date
    /** When the session was created; null for a session saved before `userField` or `absoluteTimeout` was set. */
    created: Date | null
  }

  interface EndUserSessionsOptions {
    /** A session id to leave alone: the current session's (`req.sessionID`). */
    except?: string
  }

  /** What a touch did: the expiry it left stored (whole epoch seconds, rounded up), and whether it was written. */
  interface TouchResult {
    expires: number
    outcome: 'updated' | 'throttled'
  }

  /** A DynamoDB session store for express-session, connect and @fastify/session. */
  class DynamoDBStore extends Store {
    constructor(options?: DynamoDBStoreOptions)
    readonly table: string
    readonly prefix: string
    readonly hashKey: string
    /**
     * The `client` option, or a DynamoDBClient built on first read from the store's region,
     * endpoint and static credentials (null when @aws-sdk/client-dynamodb is not installed).
     * The store itself never sends through it.
     */
    readonly client: StoreClient
    initialized: boolean

    /**
     * The session, or `null`. With `merge` on, it carries the version it was loaded at (a
     * non-enumerable symbol property, never stored): give this object to `set`.
     */
    get(sid: string): Promise<SessionData | null>
    get(sid: string, callback: (err: any, session?: SessionData | null) => void): void
    /**
     * Stores the session. A session destroyed moments ago (see `tombstoneLifetime`) or past
     * `absoluteTimeout` stays ended: nothing is written and the call succeeds. With `merge` on,
     * a session that carries its load version (from `get`) merges from that load and then
     * carries the version written; one without (new, regenerated, a copy) replaces what is stored.
     */
    set(sid: string, session: SessionData): Promise<void>
    set(sid: string, session: SessionData, callback: (err?: any) => void): void
    /** Resolves to `null` when no live session has this id (nothing is written then). */
    touch(sid: string, session: SessionData): Promise<TouchResult | null>
    touch(sid: string, session: SessionData, callback: (err?: any, result?: TouchResult | null) => void): void
    /** Ends the session: one write, a tombstone (or a delete with `tombstoneLifetime: 0`). */
    destroy(sid: string): Promise<void>
    destroy(sid: string, callback: (err?: any) => void): void
    /**
     * The live sessions of a user (the value of the `userField` session field; a number is
     * looked up as its text), from the table's `user-index`. The index is eventually
     * consistent: a session saved a moment ago may be missing, one ended a moment ago listed.
     * `INVALID_CONFIG` without `userField`.
     */
    userSessions(user: string | number): Promise<UserSession[]>
    userSessions(user: string | number, callback: Callback<UserSession[]>): void
    /**
     * Ends every live session of a user listed by `userSessions` ("log out everywhere"), but
     * `except`; resolves to how many it ended.
     */
    endUserSessions(user: string | number, options?: EndUserSessionsOptions): Promise<number>
    endUserSessions(user: string | number, callback: Callback<number>): void
    endUserSessions(
      user: string | number,
      options: EndUserSessionsOptions | undefined,
      callback: Callback<number>,
    ): void
    all(): Promise<{ [sid: string]: SessionData }>
    all(callback: (err: any, obj?: { [sid: string]: SessionData } | null) => void): void
    entries(): Promise<Array<{ id: string; session: SessionData; expires: Date }>>
    entries(callback: Callback<Array<{ id: string; session: SessionData; expires: Date }>>): void
    ids(): Promise<string[]>
    ids(callback: Callback<string[]>): void
    length(): Promise<number>
    length(callback: (err: any, length?: number) => void): void
    clear(): Promise<void>
    clear(callback: (err?: any) => void): void
    reap(): Promise<{ scanned: number; deleted: number }>
    reap(callback: Callback<{ scanned: number; deleted: number }>): void
    /**
     * Rewrites every live session that is not encrypted with the first of `encryptionKeys`
     * (saved before encryption was on, or under a key being rotated out), so the old key can
     * then be dropped. Sessions in use are re-encrypted by their next save anyway; this is for
     * idle ones. One scan, one conditional write per session rewritten. `INVALID_CONFIG`
     * without `encryptionKeys`.
     */
    reencrypt(): Promise<ReencryptResult>
    reencrypt(callback: Callback<ReencryptResult>): void
    /** Stops the background reaper (connect-dynamodb 3.x's name). */
    clearInterval(): void
    /** Stops the background reaper and the reconnection probe; the store stays usable. */
    close(): void
    /**
     * Checks the table through `describeSessionsTable()` and, when it is missing, creates it
     * through `createSessionsTable()` (unless `createTable: false`); once per store, never with
     * `initialized: true`. The store's first use runs it as `this.initialize()`, so a subclass
     * or a replacement (`store.initialize = ...`) is the one that runs.
     */
    initialize(): Promise<void>
    initialize(callback: (err: SessionStoreError | null) => void): void
    /**
     * Resolves (to undefined, not 3.x's DescribeTable output) when the table exists or DynamoDB
     * denied the DescribeTable permission (AccessDeniedException); rejects with TABLE_NOT_FOUND
     * when it is missing, and with the error (AUTH for missing or expired credentials, TIMEOUT,
     * ...) otherwise.
     */
    describeSessionsTable(): Promise<void>
    describeSessionsTable(callback: (err: SessionStoreError | null) => void): void
    /**
     * Creates the table unless it exists, waits for it and enables TTL on `expires`. Typed
     * `void` as in 3.x; it resolves to `{ created, problems }` (`verifySessionsTable()` gives the
     * problems alone).
     */
    createSessionsTable(): Promise<void>
    createSessionsTable(callback: (err: SessionStoreError | null) => void): void
    /** What is wrong with the table: a list of problems, empty when none. */
    verifySessionsTable(): Promise<string[]>
    verifySessionsTable(callback: Callback<string[]>): void
    /**
     * The session in a GetItem output, or null when the item is missing, expired, without
     * `expires`, a ghost or damaged. Throws `UNREADABLE` for a session encrypted with a key
     * the store lacks.
     */
    getParsedSession(output: {
      Item?: Record<string, AttributeValueLike>
    }): (SessionData & Record<string, unknown>) | null
    /** The `expires` value the store writes for the session (epoch seconds). */
    getExpiresValue(session?: SessionData): number
  }
}

/**
 * connect-dynamodb 3.x's factory: pass express-session (`session`) or `{ session }`, get the
 * store class.
 */
declare function connectDynamoDB<_Session extends Record<string, unknown> = Record<string, unknown>>(
  connect:
    | { Store: abstract new (...args: any[]) => EventEmitter }
    | { session: { Store: abstract new (...args: any[]) => EventEmitter } },
): typeof connectDynamoDB.DynamoDBStore

export = connectDynamoDB
