// Types of the npm package connect-dynamodb (index.js). Checked by test/types.test-d.ts.
import { EventEmitter } from 'node:events'
import type { SessionData, Store } from 'express-session'

declare namespace connectDynamoDB {
  /** The stable code of every failure; the README's error table says when each occurs. */
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

  /** Every error the store gives, through a callback or a rejected promise. */
  class SessionStoreError extends Error {
    constructor(code: ErrorCode, message: string, details?: { retryable?: boolean; cause?: unknown })
    readonly name: 'SessionStoreError'
    /** The stable error code. */
    readonly code: ErrorCode
    /** Whether the same call may succeed later. */
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

  /** Table creation on first use. */
  interface CreateTableOptions {
    /** Default `PROVISIONED`, as connect-dynamodb 3.x. */
    billingMode?: 'PAY_PER_REQUEST' | 'PROVISIONED'
    readCapacityUnits?: number
    writeCapacityUnits?: number
  }

  /** The subset of an @aws-sdk/client-dynamodb `DynamoDBClient` the store reads. */
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
    /** Provisioned capacity of a table created on first use. Default 5 each. */
    readCapacityUnits?: number | string
    writeCapacityUnits?: number | string
    /** Skip the table check (and creation) on first use. Default `false`. */
    initialized?: boolean
    /** Session fields copied into item attributes. */
    specialKeys?: SpecialKey[]
    /** Store sessions that lack a special key instead of failing. Default `false`. */
    skipThrowMissingSpecialKeys?: boolean
    /** An AWS SDK v3 DynamoDB client whose region, endpoint and (refreshing) credentials are used. */
    client?: DynamoDBClientLike
    /** AWS region; default from the client or the environment. */
    region?: string
    /** Endpoint URL, e.g. `http://localhost:8000` for DynamoDB Local. */
    endpoint?: string
    /** Strongly consistent reads. Default `true`. */
    consistentRead?: boolean
    /** Seconds: a touch that moves the stored expiry by less than this writes nothing. Default 600; 0 writes always. */
    touchAfter?: number
    /** Lifetime in seconds of sessions whose cookie has no expiry, or a function of the session giving it. Default one day. */
    ttl?: number | ((session: SessionData) => number)
    /** Create the table on first use when it is missing. Default `true` unless `initialized`. */
    createTable?: boolean | CreateTableOptions
    /** Milliseconds to open a connection. Default 3000. */
    connectTimeout?: number
    /** Milliseconds for one attempt of a request. Default 5000. */
    attemptTimeout?: number
    /** Milliseconds for a request with its retries. Default 15000. */
    operationTimeout?: number
    /** Attempts per request. Default 3. */
    maxAttempts?: number
    /** Parallel scan segments for all/ids/length/clear/reap. Default 4. */
    scanSegments?: number
  }

  type Callback<T> = (err: SessionStoreError | null, value?: T) => void

  /** What a touch did: the expiry now asked for (epoch seconds), and whether it was written. */
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
    readonly client: DynamoDBClientLike | null
    initialized: boolean

    get(sid: string): Promise<SessionData | null>
    get(sid: string, callback: (err: any, session?: SessionData | null) => void): void
    set(sid: string, session: SessionData): Promise<void>
    set(sid: string, session: SessionData, callback: (err?: any) => void): void
    /** Resolves to `null` when no live session has this id (nothing is written then). */
    touch(sid: string, session: SessionData): Promise<TouchResult | null>
    touch(sid: string, session: SessionData, callback: (err?: any, result?: TouchResult | null) => void): void
    destroy(sid: string): Promise<void>
    destroy(sid: string, callback: (err?: any) => void): void
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
    /** Stops the background reaper (connect-dynamodb 3.x's name). */
    clearInterval(): void
    /** Stops the background reaper and the reconnection probe; the store stays usable. */
    close(): void
    initialize(): Promise<void>
    initialize(callback: (err: SessionStoreError | null) => void): void
    describeSessionsTable(): Promise<string[]>
    describeSessionsTable(callback: Callback<string[]>): void
    createSessionsTable(): Promise<{ created: boolean; problems: string[] }>
    createSessionsTable(callback: Callback<{ created: boolean; problems: string[] }>): void
    getExpiresValue(session: SessionData): number
  }
}

/**
 * connect-dynamodb 3.x's factory: pass express-session (`session`) or `{ session }`, get the
 * store class.
 */
declare function connectDynamoDB(
  connect:
    | { Store: abstract new (...args: any[]) => EventEmitter }
    | { session: { Store: abstract new (...args: any[]) => EventEmitter } },
): typeof connectDynamoDB.DynamoDBStore

export = connectDynamoDB
