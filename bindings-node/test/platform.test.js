'use strict'
// Loading the addon where npm installed no binary for the machine: the error names this
// platform and what is supported (lib/native.js), instead of napi's generic "Cannot find
// native binding". Each case runs in a child Node whose process.arch and process.report are
// made to look like another machine before the package is required.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const path = require('node:path')
const { napi } = require('../package.json')

const ROOT = path.join(__dirname, '..')

/** Requires the package in a child Node that believes it runs on `arch` with `libc`. */
function requireAs(arch, libc) {
  const fake = `
    Object.defineProperty(process, 'arch', { value: ${JSON.stringify(arch)} })
    const report = process.report.getReport()
    report.header.glibcVersionRuntime = ${libc === 'gnu' ? "'2.17'" : 'undefined'}
    Object.defineProperty(process.report, 'getReport', { value: () => report })
    try {
      require(${JSON.stringify(ROOT)})
      console.log(JSON.stringify({ loaded: true }))
    } catch (err) {
      console.log(JSON.stringify({ code: err.code, message: err.message, platform: err.platform,
        supported: err.supported, cause: err.cause instanceof Error }))
    }`
  const child = spawnSync(process.execPath, ['-e', fake], { encoding: 'utf8' })
  assert.equal(child.status, 0, child.stderr)
  return JSON.parse(child.stdout)
}

test('the supported platforms are the package.json targets, in napi names', () => {
  const got = requireAs('ppc64', 'gnu')
  assert.deepEqual(got.supported, ['linux-x64-gnu', 'linux-arm64-gnu', 'linux-x64-musl', 'linux-arm64-musl'])
  assert.equal(napi.targets.length, got.supported.length)
})

test('an unsupported platform is named, with what is supported', () => {
  const got = requireAs('ppc64', 'gnu')
  assert.equal(got.code, 'ERR_CONNECT_DYNAMODB_UNSUPPORTED_PLATFORM')
  assert.equal(got.platform, 'linux-ppc64-gnu')
  assert.match(got.message, /no native binary for linux-ppc64-gnu/)
  assert.match(got.message, /linux-x64-gnu, linux-arm64-gnu, linux-x64-musl, linux-arm64-musl/)
  assert.equal(got.cause, true, "napi's load errors are kept as the cause")
})

test('a supported platform without its package says which package to install', () => {
  // No arm64 binary is built in this checkout and no platform package is installed.
  const here = process.arch === 'arm64' ? ['x64', 'musl'] : ['arm64', 'gnu']
  const got = requireAs(...here)
  const platform = `linux-${here[0]}-${here[1]}`
  assert.equal(got.code, 'ERR_CONNECT_DYNAMODB_BINARY_MISSING')
  assert.equal(got.platform, platform)
  assert.match(got.message, new RegExp(`package connect-dynamodb-${platform}`))
  assert.match(got.message, /--omit=optional/)
})

test('this machine loads its binary', () => {
  assert.deepEqual(requireAs(process.arch, process.report.getReport().header.glibcVersionRuntime ? 'gnu' : 'musl'), {
    loaded: true,
  })
})
