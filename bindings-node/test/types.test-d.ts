// Type test of index.d.ts: compiled with `tsc -p test/tsconfig.json` (no emit) by `make test`.
// Lines marked @ts-expect-error must fail to compile; everything else must compile.

import express from 'express'
import session from 'express-session'

import connectDynamoDB = require('connect-dynamodb')

import { DynamoDBStore, SessionStoreError } from 'connect-dynamodb'

const Store = connectDynamoDB(session)
const Store2 = connectDynamoDB({ session })
const store: DynamoDBStore = new Store({
  table: 'sessions',
  prefix: 'sess:',
  hashKey: 'id',
  reapInterval: 0,
  readCapacityUnits: 5,
  writeCapacityUnits: '5',
  specialKeys: [{ name: 'userId', type: 'S' }],
  skipThrowMissingSpecialKeys: true,
  initialized: false,
  region: 'eu-west-1',
  endpoint: 'http://localhost:8000',
  consistentRead: true,
  touchAfter: 600,
  ttl: (s) => (s.cookie.maxAge ? 60 : 3600),
  createTable: { billingMode: 'PAY_PER_REQUEST' },
  connectTimeout: 1000,
})
new Store2({ ttl: 3600, createTable: false })
// The options of sessions that stay correct under concurrent requests.
const careful: DynamoDBStore = new Store({
  tombstoneLifetime: 3600_000,
  merge: 'mine',
  absoluteTimeout: 8 * 3600_000,
  userField: 'passport.user',
})
new Store({ merge: false, tombstoneLifetime: 0 })
new Store({ merge: 'error', userField: 'userId' })
// @ts-expect-error: merge is false, 'off', 'mine' or 'error'.
new Store({ merge: true })
// @ts-expect-error: merge policies are named.
new Store({ merge: 'theirs' })
// @ts-expect-error: userField is one dotted path.
new Store({ userField: ['passport', 'user'] })
// @ts-expect-error: durations are milliseconds, as express-session's maxAge.
new Store({ absoluteTimeout: '8h' })

async function users(s: DynamoDBStore, sid: string): Promise<number> {
  const sessions: connectDynamoDB.UserSession[] = await s.userSessions('ada')
  const byNumber = await s.userSessions(42)
  const first = sessions[0]
  const id: string | undefined = first?.id
  const expires: Date | undefined = first?.expires
  const created: Date | null | undefined = first?.created
  void byNumber, id, expires, created
  s.userSessions('ada', (err, list) => void [err, list?.length])
  const all: number = await s.endUserSessions('ada')
  const others: number = await s.endUserSessions(42, { except: sid })
  s.endUserSessions('ada', (err, n) => void [err, n])
  s.endUserSessions('ada', { except: sid }, (err, n) => void [err, n])
  // @ts-expect-error: `except` is a session id.
  s.endUserSessions('ada', { except: 42 })
  // @ts-expect-error: the user is a string or a number.
  s.userSessions({ id: 'ada' })
  // @ts-expect-error: a callback form returns nothing.
  s.userSessions('ada', () => {}).then
  return all + others
}
void careful, users

// Sessions at rest: keys as bytes or base64 text.
const atRest: DynamoDBStore = new Store({
  encryptionKeys: [Buffer.alloc(32), new Uint8Array(32), 'base64 text'],
  idHashKey: Buffer.alloc(32),
  compressThreshold: 4096,
})
new Store({ encryptionKeys: [], idHashKey: false })
new Store({ encryptionKeys: ['base64 text'], decryptOnly: true })
// @ts-expect-error: decryptOnly is a boolean.
new Store({ decryptOnly: 'yes' })
new Store({ idHashKey: 'base64 text' })
// @ts-expect-error: encryptionKeys is an array, even of one key.
new Store({ encryptionKeys: Buffer.alloc(32) })
// @ts-expect-error: a key is bytes or base64 text.
new Store({ encryptionKeys: [42] })
// @ts-expect-error: false turns hashing off; true means nothing.
new Store({ idHashKey: true })
// @ts-expect-error: the threshold is a number of bytes.
new Store({ compressThreshold: '4k' })

async function rotate(s: DynamoDBStore): Promise<number> {
  const report: connectDynamoDB.ReencryptResult = await s.reencrypt()
  const { scanned, rewritten, unreadable } = report
  s.reencrypt((err, r) => void [err?.code, r?.rewritten])
  // @ts-expect-error: a callback form returns nothing.
  s.reencrypt(() => {}).then
  const code: connectDynamoDB.ErrorCode = 'UNREADABLE'
  void code
  return scanned + rewritten + unreadable
}
void atRest, rotate
new DynamoDBStore()

const app = express()
app.use(session({ store, secret: 's', resave: false, saveUninitialized: false }))

async function promises(s: DynamoDBStore): Promise<number> {
  const data = await s.get('sid')
  // Without a callback every method returns a promise.
  const written: Promise<void> = s.set('sid', data!)
  await written
  const touched = await s.touch('sid', data!)
  const outcome: 'updated' | 'throttled' | undefined = touched?.outcome
  const gone: Promise<void> = s.destroy('sid')
  void outcome, gone
  s.close()
  const ids: string[] = await s.ids()
  const all: { [sid: string]: session.SessionData } = await s.all()
  const entries = await s.entries()
  const when: Date | undefined = entries[0]?.expires
  const report = await s.reap()
  await s.clear()
  await s.destroy('sid')
  s.clearInterval()
  void ids, all, when
  return (await s.length()) + report.deleted + s.getExpiresValue(data!)
}

// @ts-expect-error: a callback form returns nothing.
store.set('sid', {} as session.SessionData, () => {}).then

store.get('sid', (err, sess) => {
  if (err instanceof SessionStoreError) {
    const code: connectDynamoDB.ErrorCode = err.code
    const retryable: boolean = err.retryable
    void code, retryable
  }
  void sess
})

// @ts-expect-error: unknown options are rejected by the types too.
new Store({ tabel: 'sessions' })
// @ts-expect-error: special key types are S, N or B.
new Store({ specialKeys: [{ name: 'x', type: 'BOOL' }] })
// @ts-expect-error: the factory needs express-session or { session }.
connectDynamoDB(42)

void promises
