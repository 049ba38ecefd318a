// Type test against connect-dynamodb 3.0.5's own index.d.ts (the devDependency
// connect-dynamodb@3.0.5 in node_modules): code written for 3.x compiles against this package's
// types, and every 3.x member is here with a compatible shape. Compiled by
// `tsc -p test/tsconfig.json` (no emit).

import { DynamoDBClient, type GetItemCommandOutput } from '@aws-sdk/client-dynamodb'
import expressSession from 'express-session'

import connectDynamoDB = require('connect-dynamodb')
import Legacy = require('../node_modules/connect-dynamodb/index')

import type { DynamoDBStore, DynamoDBStoreOptions, DynamoDBStoreOptionsSpecialKey } from 'connect-dynamodb'

/** Compiles only when `A` is assignable to `B`. */
type Assignable<A extends B, B> = A
/** Compiles only when `T` is `never`. */
type Never<T extends never> = T

// 3.x's options are all accepted.
type _Options = Assignable<Legacy.DynamoDBStoreOptions, DynamoDBStoreOptions>
type _SpecialKey = Assignable<Legacy.DynamoDBStoreOptionsSpecialKey, DynamoDBStoreOptionsSpecialKey>
// Every member of 3.x's store is here.
type _Members = Never<Exclude<keyof Legacy.DynamoDBStore, keyof DynamoDBStore>>

// connect-dynamodb 3.0.5's own index.test-d.ts, as far as it is about behaviour (its
// `const DynamoDBStore: DynamoDBStore = connectDynamoDB(...)` gives a class the instance type).
type SessionData = { name: string; animal: 'cow' | 'pig' }
const Store = connectDynamoDB<SessionData>(expressSession)
const specialKeysOption: DynamoDBStoreOptionsSpecialKey = { name: 'userId', type: 'S' }
const specialKeysOptions: connectDynamoDB.DynamoDBStoreOptionsSpecialKey[] = [specialKeysOption]
const options: Legacy.DynamoDBStoreOptions = {
  table: 'myapp-sessions',
  client: new DynamoDBClient({ endpoint: 'http://localhost:8000' }),
  readCapacityUnits: 25,
  writeCapacityUnits: 25,
  specialKeys: specialKeysOptions,
  skipThrowMissingSpecialKeys: true,
  initialized: true,
}
expressSession({ store: new Store(), secret: 'keyboard cat' })
expressSession({ store: new Store({ table: 'myapp-sessions' }), secret: 'keyboard cat' })
expressSession({ store: new Store(options), secret: 'keyboard cat' })
const store: DynamoDBStore = new Store(options)

// Each 3.x member, used as 3.x declares it.
const client: DynamoDBClient = store.client
const initialized: Promise<void> = store.initialize()
const described: Promise<void> = store.describeSessionsTable()
const created: Promise<void> = store.createSessionsTable()
declare const output: GetItemCommandOutput
const parsed: Record<string, unknown> | null = store.getParsedSession(output)
store.getParsedSession({ Item: {} })
const expires: number = store.getExpiresValue()
store.get('id', (err: Legacy.CallbackError, session?: expressSession.SessionData | null) => void [err, session])
store.set('id', {} as expressSession.SessionData, (err: Legacy.CallbackError) => void err)
store.reap((err: Legacy.CallbackError) => void err)
store.destroy('id', (err: Legacy.CallbackError) => void err)
store.touch('id', {} as expressSession.SessionData, (err: Legacy.CallbackError, results) => {
  // 3.x's `{ expires: number }`, with this package's `outcome` beside it.
  const shape: { expires: number } | null | undefined = results
  void err, shape
})
store.clearInterval()
type _Touch = Assignable<connectDynamoDB.TouchResult, { expires: number }>

void client, initialized, described, created, parsed, expires
