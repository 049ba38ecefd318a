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
