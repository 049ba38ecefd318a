'use strict'
// The shared vectors of tests/vectors/stored-items.json: items as published connect-dynamodb
// versions (and damaged or foreign writers) left them, read through the Node store, so that
// Node is held to the behaviour of the Rust core and the other faces.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const h = require('./helpers')

const { loadVectors: load, rawItem } = require('../../tests/vectors/stored-items')

/** Writes every vector raw into `table`, under the store's default key `id` and prefix `sess:`. */
async function writeVectors(table) {
  const now = Date.now() / 1000
  for (const vector of load()) {
    await h.rawPut(table, rawItem(vector, now))
  }
}

test('the vectors cover live and dead items', () => {
  const vectors = load()
  const found = vectors.filter((v) => v.found)
  assert.ok(found.length >= 4)
  assert.ok(found.length < vectors.length)
})

test('every vector through the store: get, all, entries, ids and length', async () => {
  const table = h.uniqueTable('vectors')
  // Without TTL, so that DynamoDB Local's own deletions of expired items do not race the reads.
  await h.createTable(table)
  await writeVectors(table)
  const store = h.localStore(table)
  try {
    for (const vector of load()) {
      const got = await store.get(vector.name)
      if (vector.found) {
        assert.deepEqual(got, JSON.parse(vector.attributes.sess.S), vector.name)
      } else {
        assert.equal(got, null, vector.name)
      }
    }
    const live = load()
      .filter((v) => v.found)
      .map((v) => v.name)
      .sort()
    assert.deepEqual((await store.ids()).sort(), live)
    assert.deepEqual(Object.keys(await store.all()).sort(), live)
    assert.equal(await store.length(), live.length)
    const byName = new Map(load().map((v) => [v.name, v]))
    for (const entry of await store.entries()) {
      const vector = byName.get(entry.id)
      assert.deepEqual(entry.session, JSON.parse(vector.attributes.sess.S), entry.id)
      const left = (entry.expires.getTime() - Date.now()) / 1000
      assert.ok(Math.abs(left - vector.expires.offset_secs) < 5, `${entry.id}: ${left} s left`)
    }
  } finally {
    store.close()
  }
})

test("every vector through getParsedSession (connect-dynamodb 3.x's surface): as get reads it", () => {
  const store = h.localStore(h.uniqueTable('vectors-parsed'), { initialized: true })
  const now = Date.now() / 1000
  for (const vector of load()) {
    const parsed = store.getParsedSession({ Item: rawItem(vector, now) })
    if (vector.found) {
      assert.deepEqual(parsed, JSON.parse(vector.attributes.sess.S), vector.name)
    } else {
      assert.equal(parsed, null, vector.name)
    }
  }
})
