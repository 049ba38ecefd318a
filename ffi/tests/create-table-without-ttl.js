'use strict'
// Creates a session table on DynamoDB Local the way cdyn_store_create_table does, but with TTL
// off: DynamoDB Local applies TTL, and its own deletions of expired items would race the
// reaper and cdyn_store_clear in the C tests that count what those delete.
//
//   node ffi/tests/create-table-without-ttl.js TABLE
//
// Needs DYNAMODB_ENDPOINT. Uses the AWS SDK from the Node package's development dependencies.
// Also a module: write-vectors.js takes localClient and createTableWithoutTtl from it.
const path = require('node:path')
const { createRequire } = require('node:module')

const nodePackage = path.resolve(__dirname, '..', '..', 'bindings-node')
const { DynamoDBClient, CreateTableCommand, waitUntilTableExists } = createRequire(
  path.join(nodePackage, 'package.json'),
)('@aws-sdk/client-dynamodb')

/** A DynamoDB client on DynamoDB Local (DYNAMODB_ENDPOINT) with its test credentials. */
function localClient() {
  const endpoint = process.env.DYNAMODB_ENDPOINT
  if (!endpoint) throw new Error('DYNAMODB_ENDPOINT is not set: run the C tests with make test-c')
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'localtest', secretAccessKey: 'localtest' },
  })
}

/** Creates `table` (hash key `id`, on demand, TTL off) and waits until it exists. */
async function createTableWithoutTtl(client, table) {
  await client.send(
    new CreateTableCommand({
      TableName: table,
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  )
  await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 1 }, { TableName: table })
}

module.exports = { localClient, createTableWithoutTtl }

async function main() {
  const table = process.argv[2]
  if (!table) throw new Error('usage: DYNAMODB_ENDPOINT=... node create-table-without-ttl.js TABLE')
  const client = localClient()
  await createTableWithoutTtl(client, table)
  client.destroy()
}

if (require.main === module) {
  main().catch((err) => {
    console.error(`create-table-without-ttl: ${err.message}`)
    process.exit(1)
  })
}
