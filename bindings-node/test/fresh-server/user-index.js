'use strict'
// Run by lifecycle.test.js on a fresh DynamoDB Local of its own (see there why): adding the
// user-index to an existing table.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const connectDynamoDB = require('../..')
const h = require('../helpers')

const { SessionStoreError } = connectDynamoDB

test('userField: a table without the user-index is reported, and createSessionsTable() adds it', async () => {
  const table = h.uniqueTable('users-index')
  await h.createTable(table)
  const store = h.localStore(table, { userField: 'passport.user', initialized: true })
  const problems = await store.verifySessionsTable()
  assert.ok(
    problems.some((p) => p.includes('user-index')),
    `the missing index is one of ${JSON.stringify(problems)}`,
  )
  // Sessions saved before the index exists are indexed once it is added.
  await store.set('p1', h.sessionData({ passport: { user: 42 } }))
  await store.createSessionsTable()
  assert.deepEqual(await store.verifySessionsTable(), [])
  assert.deepEqual(
    (await store.userSessions(42)).map((s) => s.id),
    ['p1'],
  )
  assert.deepEqual(
    (await store.userSessions('42')).map((s) => s.id),
    ['p1'],
  )

  // Without userField there is no index to ask.
  const plain = h.localStore(table, { initialized: true })
  await assert.rejects(plain.userSessions('42'), (err) => {
    assert.ok(err instanceof SessionStoreError)
    assert.equal(err.code, 'INVALID_CONFIG')
    assert.match(err.message, /`userField`/)
    return true
  })
})
