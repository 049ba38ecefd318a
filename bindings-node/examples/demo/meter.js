'use strict'
// The demo's DynamoDB meter: an HTTP proxy in front of DynamoDB Local that the demo's stores
// talk to. It counts every request by operation and estimates the capacity units it consumed.
//
// The store's requests do not ask DynamoDB for ReturnConsumedCapacity (and the proxy does not
// change what they sign), so the units are computed from item sizes as DynamoDB bills them and
// as README's cost notes count them: a write is 1 WCU per KB of the larger of the old and the
// new item (also when its condition refuses it), plus 1 WCU per `user-index` entry it writes or
// removes (none when the entry's key and projected attributes stay as they were);
// a strongly consistent read is 1 RCU per 4 KB (half that eventually consistent, as the index
// is), and reading nothing still costs the minimum. The meter learns item sizes from the items
// the store writes and reads. Plain HTTP only: it serves DynamoDB Local, not AWS's endpoints.
const http = require('node:http')

const KB = 1024
const READ_UNIT = 4 * KB

/** The size of an attribute value as DynamoDB counts it (DynamoDB JSON, as on the wire). */
function valueSize(value) {
  if ('S' in value) return Buffer.byteLength(value.S, 'utf8')
  if ('N' in value) {
    // Significant digits: leading and trailing zeros are not stored.
    const digits = value.N.replace(/[eE].*$/, '')
      .replace(/\D/g, '')
      .replace(/^0+|0+$/g, '')
    return Math.ceil(Math.max(digits.length, 1) / 2) + 1
  }
  if ('B' in value) return Buffer.from(value.B, 'base64').length
  if ('BOOL' in value || 'NULL' in value) return 1
  if ('SS' in value) return value.SS.reduce((n, s) => n + Buffer.byteLength(s, 'utf8'), 0)
  if ('NS' in value) return value.NS.reduce((n, s) => n + valueSize({ N: s }), 0)
  if ('BS' in value) return value.BS.reduce((n, b) => n + Buffer.from(b, 'base64').length, 0)
  if ('L' in value) return value.L.reduce((n, v) => n + 1 + valueSize(v), 3)
  if ('M' in value) return 3 + itemSize(value.M) + Object.keys(value.M).length
  return 0
}

/** The size of an item in bytes: attribute names and values. */
function itemSize(item) {
  let size = 0
  for (const [name, value] of Object.entries(item ?? {})) size += Buffer.byteLength(name, 'utf8') + valueSize(value)
  return size
}

const writeUnits = (bytes) => Math.max(1, Math.ceil(bytes / KB))
const readUnits = (bytes, consistent) => Math.max(1, Math.ceil(bytes / READ_UNIT)) * (consistent ? 1 : 0.5)

/**
 * Starts the meter in front of `endpoint` (DynamoDB Local's URL). `hashKey` names the table's
 * key attribute and `indexed` the attribute a `user-index` is keyed on (writes of items that
 * carry it also write the index).
 */
async function startMeter(endpoint, { hashKey = 'id', indexed = 'user' } = {}) {
  const target = new URL(endpoint)
  const agent = new http.Agent({ keepAlive: true })
  const calls = []
  let sequence = 0
  // What the meter knows of stored items, by key: { size, entry } (bounded: a demo, not a cache),
  // `entry` being the item's index entry (the indexed value and the projected attributes).
  const known = new Map()
  const entryOf = (item) =>
    item?.[indexed] ? JSON.stringify([item[indexed], item.expires, item.created, item.ended]) : null
  const remember = (item) => {
    const key = item?.[hashKey]?.S
    if (key == null) return
    known.delete(key)
    known.set(key, { size: itemSize(item), entry: entryOf(item), user: item[indexed]?.S ?? null })
    if (known.size > 10_000) known.delete(known.keys().next().value)
  }
  const keyOf = (body) => body.Key?.[hashKey]?.S ?? body.Item?.[hashKey]?.S

  /** A write of `next` (null for a delete) over what is known of the item under `key`. */
  const write = (key, next, refused) => {
    const old = known.get(key)
    const bytes = Math.max(next ? itemSize(next) : 0, old?.size ?? 0)
    const units = { wcu: next || old ? writeUnits(bytes) : 1, rcu: 0, bytes }
    if (!refused) {
      // An index entry written or removed (both when the indexed value changes); none when the
      // write leaves the entry as it was.
      const before = old?.entry ?? null
      const after = entryOf(next)
      if (before !== after) units.wcu += before !== null && after !== null && old.user !== next[indexed].S ? 2 : 1
      if (next) remember(next)
      else known.delete(key)
    }
    return units
  }

  /** The capacity a request consumed, from its body and DynamoDB's answer. */
  function measure(op, body, status, answer) {
    const refused = status !== 200
    switch (op) {
      case 'GetItem': {
        if (answer.Item) remember(answer.Item)
        const bytes = itemSize(answer.Item)
        return { rcu: readUnits(bytes, body.ConsistentRead === true), wcu: 0, bytes }
      }
      case 'PutItem': {
        // A refused conditional write returns the stored item (ReturnValuesOnConditionCheckFailure).
        if (refused && answer.Item) remember(answer.Item)
        return write(keyOf(body), body.Item, refused)
      }
      case 'DeleteItem':
        return write(keyOf(body), null, refused)
      case 'UpdateItem': {
        if (refused && answer.Item) remember(answer.Item)
        const old = known.get(keyOf(body))
        const bytes = old?.size ?? 0
        // A touch moves `expires`, which the index projects.
        const index = !refused && old?.entry != null ? 1 : 0
        return { rcu: 0, wcu: writeUnits(bytes) + index, bytes }
      }
      case 'Query':
      case 'Scan': {
        const bytes = (answer.Items ?? []).reduce((n, item) => n + itemSize(item), 0)
        const consistent = body.ConsistentRead === true && !body.IndexName
        return { rcu: readUnits(bytes, consistent), wcu: 0, bytes }
      }
      case 'BatchWriteItem': {
        const units = { rcu: 0, wcu: 0, bytes: 0 }
        for (const requests of Object.values(body.RequestItems ?? {})) {
          for (const r of requests) {
            const u = r.PutRequest
              ? write(r.PutRequest.Item[hashKey].S, r.PutRequest.Item, false)
              : write(r.DeleteRequest.Key[hashKey].S, null, false)
            units.wcu += u.wcu
            units.bytes += u.bytes
          }
        }
        return units
      }
      default:
        // DescribeTable, CreateTable, the TTL calls: the control plane, no capacity units.
        return { rcu: 0, wcu: 0, bytes: 0 }
    }
  }

  const server = http.createServer((req, res) => {
    const op =
      String(req.headers['x-amz-target'] || '')
        .split('.')
        .pop() || '(none)'
    const sent = []
    req.on('data', (chunk) => sent.push(chunk))
    req.on('end', () => {
      const upstream = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
        (up) => {
          const got = []
          up.on('data', (chunk) => got.push(chunk))
          up.on('end', () => {
            const answer = Buffer.concat(got)
            // Logged before the store has its answer: a page view that awaited it sees it.
            try {
              const body = JSON.parse(Buffer.concat(sent).toString('utf8') || '{}')
              const reply = up.headers['content-encoding'] ? {} : JSON.parse(answer.toString('utf8') || '{}')
              const refused = up.statusCode !== 200
              const error = refused
                ? String(reply.__type ?? '')
                    .split('#')
                    .pop() || `HTTP ${up.statusCode}`
                : null
              sequence += 1
              const key = keyOf(body) ?? null
              calls.push({ seq: sequence, op, key, error, ...measure(op, body, up.statusCode, reply) })
              if (calls.length > 1000) calls.splice(0, calls.length - 1000)
            } catch {
              // not DynamoDB JSON: nothing to count
            }
            res.writeHead(up.statusCode, up.headers)
            res.end(answer)
          })
        },
      )
      upstream.on('error', () => res.destroy())
      upstream.end(Buffer.concat(sent))
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    /** A mark for `since`: the requests after this moment. */
    mark: () => sequence,
    /**
     * The requests logged after `mark`, oldest first: `{ op, key, error, rcu, wcu, bytes }`;
     * with `keys`, only those on an item of `keys` and those on no single item (Query, ...).
     */
    since: (mark, keys) => calls.filter((c) => c.seq > mark && (!keys || c.key === null || keys.has(c.key))),
    close: () =>
      new Promise((resolve) => {
        agent.destroy()
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

module.exports = { startMeter, itemSize }
