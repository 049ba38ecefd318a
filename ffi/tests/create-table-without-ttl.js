'use strict'
// Creates a session table on DynamoDB Local the way cdyn_store_create_table does, but with TTL
// off: DynamoDB Local applies TTL, and its own deletions of expired items would race the
// reaper and cdyn_store_clear in the C tests that count what those delete.
//
//   node ffi/tests/create-table-without-ttl.js TABLE
//
// Needs DYNAMODB_ENDPOINT. Uses the AWS SDK from the Node package's development dependencies.
const path = require('node:path')
const { createRequire } = require('node:module')

const nodePackage = path.resolve(__dirname, '..', '..', 'bindings-node')
const { DynamoDBClient, CreateTableCommand, waitUntilTableExists } = createRequire(
  path.join(nodePackage, 'package.json'),
)('@aws-sdk/client-dynamodb')

async function main() {
  const table = process.argv[2]
  const endpoint = process.env.DYNAMODB_ENDPOINT
  if (!table || !endpoint) throw new Error('usage: DYNAMODB_ENDPOINT=... node create-table-without-ttl.js TABLE')
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'localtest', secretAccessKey: 'localtest' },
  })
  await client.send(
    new CreateTableCommand({
      TableName: table,
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  )
  await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 1 }, { TableName: table })
  client.destroy()
}

main().catch((err) => {
  console.error(`create-table-without-ttl: ${err.message}`)
  process.exit(1)
})
