'use strict'
// Prints the raw items of a table of DynamoDB Local, for the C tests that check what a store
// keeps at rest (test_at_rest.c, test_node_interop.c): the C API has no raw access, on purpose.
//
//   node ffi/tests/raw-items.js TABLE
//
// Needs DYNAMODB_ENDPOINT. One line per item: "<id>\t<type of sess>\t<sess as hex>", where the
// type is the attribute's DynamoDB type (S, B, ...; `-` when there is none) and the hex is of
// its bytes (the UTF-8 bytes of an S).
const path = require('node:path')
const { createRequire } = require('node:module')

const { ScanCommand } = createRequire(
  path.join(__dirname, '..', '..', 'bindings-node', 'package.json'),
)('@aws-sdk/client-dynamodb')
const { localClient } = require('./create-table-without-ttl')

async function main() {
  const table = process.argv[2]
  if (!table) throw new Error('usage: DYNAMODB_ENDPOINT=... node raw-items.js TABLE')
  const client = localClient()
  let start
  const lines = []
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }))
    for (const item of page.Items ?? []) {
      const sess = item.sess ?? {}
      const [type] = Object.keys(sess)
      let bytes = Buffer.alloc(0)
      if (type === 'S') bytes = Buffer.from(sess.S, 'utf8')
      else if (type === 'B') bytes = Buffer.from(sess.B)
      lines.push(`${item.id?.S ?? '-'}\t${type ?? '-'}\t${bytes.toString('hex') || '-'}\n`)
    }
    start = page.LastEvaluatedKey
  } while (start)
  client.destroy()
  process.stdout.write(lines.join(''))
}

main().catch((err) => {
  console.error(`raw-items: ${err.message}`)
  process.exit(1)
})
