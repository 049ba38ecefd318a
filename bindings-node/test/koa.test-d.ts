// Type test of koa.d.ts (connect-dynamodb/koa) against koa-session 7's own store type:
// compiled with `tsc -p test/tsconfig.json` (no emit) by `make test`.
// Lines marked @ts-expect-error must fail to compile; everything else must compile.

import { DynamoDBStore, type KoaSessionData, SessionStoreError } from 'connect-dynamodb/koa'
import { ManualClock } from 'connect-dynamodb/testing'
import session, { type CreateSessionOptions } from 'koa-session'

const store = new DynamoDBStore({
  table: 'sessions',
  prefix: 'koa:',
  endpoint: 'http://localhost:8000',
  tombstoneLifetime: 3600_000,
  merge: 'mine',
  userField: 'userId',
  ttl: (s) => (s._session ? 3600 : 86400),
  clock: new ManualClock(),
})
new DynamoDBStore()
new DynamoDBStore({ ttl: 3600, createTable: { billingMode: 'PAY_PER_REQUEST' } })
// @ts-expect-error: options are the express store's.
new DynamoDBStore({ table: 42 })
// @ts-expect-error: merge policies are named.
new DynamoDBStore({ merge: 'theirs' })

// koa-session takes it as its store, its type checked by koa-session's declarations.
const options: CreateSessionOptions = { store, maxAge: 86400_000, rolling: true }
const app = { keys: ['k'], context: {} }
session(options, app)
session(app, { store, maxAge: 'session' })

async function calls(ctx: unknown): Promise<void> {
  const sess: KoaSessionData | null = await store.get('key', 86410_000, { rolling: false, ctx })
  await store.get('key', 'session', { rolling: false })
  await store.get('key', undefined, { rolling: false })
  const expire: number | undefined = sess?._expire
  await store.set('key', { user: 'ada', _expire: 1, _maxAge: 1 }, 86410_000, { rolling: false, changed: true, ctx })
  await store.set('key', { user: 'ada', _session: true }, 'session', { rolling: false, changed: false })
  // @ts-expect-error: maxAge is milliseconds or 'session'.
  await store.set('key', {}, '1d', { rolling: false, changed: false })
  await store.destroy('key', { ctx })
  const n: number = await store.endUserSessions('ada', { except: 'key' })
  const list = await store.userSessions(42)
  const when: Date | undefined = list[0]?.expires
  const entries = await store.entries()
  const count: number = await store.length()
  const report = await store.reap()
  const deleted: number = report.deleted
  store.close()
  void expire, n, when, entries, count, deleted
}

function code(err: unknown): string | undefined {
  if (err instanceof SessionStoreError) {
    const c: SessionStoreError['code'] = err.code
    const r: boolean = err.retryable
    void r
    return c
  }
  return undefined
}
void calls, code
