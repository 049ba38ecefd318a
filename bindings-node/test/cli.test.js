'use strict'
// `npx connect-dynamodb` (bin/connect-dynamodb.js, the package's `bin`) against DynamoDB Local,
// beside `python -m connect_dynamodb`: both run the core's commands, so with the same
// arguments on the same table they print the same bytes and exit with the same status,
// failures included. (The commands themselves are tested in core/tests/cli.rs.)
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { DeleteTableCommand } = require('@aws-sdk/client-dynamodb')
const { endpoint, rawClient, rawPut, uniqueTable } = require('./helpers')

const PACKAGE = path.join(__dirname, '..')
const BIN = path.join(PACKAGE, 'bin', 'connect-dynamodb.js')
const CACHE = process.env.CONNECT_DYNAMODB_CACHE || path.join(PACKAGE, '..', '.cache')
const PYTHON = path.join(CACHE, 'python-venv', 'bin', 'python')
// No keys from the environment of whoever runs the tests.
const ENV = { ...process.env, CONNECT_DYNAMODB_ENCRYPTION_KEYS: '', CONNECT_DYNAMODB_ID_HASH_KEY: '' }

function run(command, args) {
  const out = spawnSync(command[0], [...command.slice(1), ...args], { encoding: 'utf8', env: ENV })
  if (out.error) throw out.error
  return { status: out.status, stdout: out.stdout, stderr: out.stderr }
}
const node = (args) => run([process.execPath, BIN], args)
const python = (args) => run([PYTHON, '-m', 'connect_dynamodb'], args)

test('the package declares the command', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(PACKAGE, 'package.json'), 'utf8'))
  assert.deepEqual(pkg.bin, { 'connect-dynamodb': 'bin/connect-dynamodb.js' })
  assert.ok(pkg.files.includes('bin/*.js'))
  const script = fs.readFileSync(BIN, 'utf8')
  assert.ok(script.startsWith('#!/usr/bin/env node\n'))
  assert.ok(fs.statSync(BIN).mode & 0o111, 'executable')
})

test('Node and Python print the same bytes and exit the same way', async () => {
  assert.ok(fs.existsSync(PYTHON), 'the Python face is needed: run `make python-build` first')
  const table = uniqueTable('cli')
  const target = ['--table', table, '--endpoint', endpoint, '--user-field', 'userId']
  try {
    const created = node(['create-table', ...target])
    assert.deepEqual(created, { status: 0, stdout: `table ${table}: created\nfit for sessions\n`, stderr: '' })
    const future = String(Math.ceil(Date.now() / 1000) + 86400)
    const items = [
      {
        id: { S: 'sess:a' },
        expires: { N: future },
        sess: { S: '{"userId":"ada"}' },
        created: { N: '1700000000' },
        user: { S: 'ada' },
      },
      { id: { S: 'sess:b' }, expires: { N: future }, sess: { S: 'x'.repeat(2000) }, created: { N: '1700000100' } },
      { id: { S: 'sess:c' }, expires: { N: future }, sess: { S: 'null' }, ended: { N: '1700000000' } },
      { id: { S: 'sess:d' }, expires: { N: future } },
    ]
    for (const item of items) await rawPut(table, item)

    const cases = [
      [['create-table', ...target], 0],
      [['verify', ...target], 0],
      [['stats', ...target], 0],
      [['stats', '--json', ...target], 0],
      [['reap', ...target], 0],
      [['end-user-sessions', 'nobody', ...target], 0],
      [['iac', '--format', 'cloudformation', ...target], 0],
      [['iac', '--format=terraform', ...target], 0],
      [['--help'], 0],
      [['help', 'stats'], 0],
      [['stats', '--bogus', ...target], 2],
      [['iac', ...target], 2],
      [['verify', '--table', `${table}-missing`, '--endpoint', endpoint], 14],
      [['end-user-sessions', 'ada', '--table', table, '--endpoint', endpoint], 10],
      [['rotate-keys', ...target], 10],
    ]
    for (const [args, status] of cases) {
      const fromNode = node(args)
      const fromPython = python(args)
      assert.equal(fromNode.status, status, `${args.join(' ')}: ${fromNode.stderr}`)
      assert.deepEqual(fromPython, fromNode, args.join(' '))
      if (status === 0) assert.notEqual(fromNode.stdout, '', args.join(' '))
      else assert.match(fromNode.stderr, /^connect-dynamodb: /, args.join(' '))
    }
    const stats = JSON.parse(node(['stats', '--json', ...target]).stdout)
    assert.deepEqual([stats.items, stats.live, stats.expired, stats.tombstones, stats.other], [4, 2, 0, 1, 1])
    assert.deepEqual(stats.oldest, { at: '2023-11-14T22:13:20Z', epoch: 1700000000, by: 'created' })
  } finally {
    await rawClient.send(new DeleteTableCommand({ TableName: table })).catch(() => {})
  }
})

test('progress goes to stderr, never into the JSON on stdout', async () => {
  const table = uniqueTable('cli-progress')
  const target = ['--table', table, '--endpoint', endpoint]
  try {
    assert.equal(node(['create-table', ...target]).status, 0)
    const out = node(['stats', '--json', '--progress', '1', ...target])
    assert.equal(out.status, 0)
    assert.equal(JSON.parse(out.stdout).items, 0)
    assert.notEqual(out.stderr, '')
    for (const line of out.stderr.trimEnd().split('\n')) {
      assert.match(line, /^connect-dynamodb stats: \d+ pages, \d+ items scanned$/)
    }
  } finally {
    await rawClient.send(new DeleteTableCommand({ TableName: table })).catch(() => {})
  }
})
