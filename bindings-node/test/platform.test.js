'use strict'
// Loading the addon where no binary loads: the error names this platform and what is
// supported (lib/native.js, lib/platforms.js), instead of napi's generic "Cannot find native
// binding". Each case runs in a child Node made to look like another machine before the
// package is required.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const path = require('node:path')
const { napi } = require('../package.json')
const { PLATFORMS, platformOf, currentPlatform } = require('../lib/platforms')

const ROOT = path.join(__dirname, '..')

/** Requires the package in a child Node after running `prelude` there. */
function requireAfter(prelude) {
  const script = `
    ${prelude}
    try {
      require(${JSON.stringify(ROOT)})
      console.log(JSON.stringify({ loaded: true }))
    } catch (err) {
      console.log(JSON.stringify({ code: err.code, message: err.message, platform: err.platform,
        supported: err.supported, cause: err.cause instanceof Error }))
    }`
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' })
  assert.equal(child.status, 0, child.stderr)
  return JSON.parse(child.stdout)
}
const onArch = (arch) => `Object.defineProperty(process, 'arch', { value: ${JSON.stringify(arch)} })`
const libc = currentPlatform().split('-')[2]

test("napi's platform names for the Rust targets", () => {
  assert.deepEqual(PLATFORMS, ['linux-x64-gnu', 'linux-arm64-gnu', 'linux-x64-musl', 'linux-arm64-musl'])
  assert.equal(napi.targets.length, PLATFORMS.length)
  assert.equal(platformOf('x86_64-pc-windows-msvc'), 'win32-x64-msvc')
  assert.equal(platformOf('aarch64-apple-darwin'), 'darwin-arm64')
  assert.equal(platformOf('armv7-unknown-linux-gnueabihf'), 'linux-arm-gnu')
})

test('an unsupported platform is named, with what is supported', () => {
  const got = requireAfter(onArch('ppc64'))
  assert.equal(got.code, 'ERR_CONNECT_DYNAMODB_UNSUPPORTED_PLATFORM')
  assert.equal(got.platform, `linux-ppc64-${libc}`)
  assert.deepEqual(got.supported, PLATFORMS)
  assert.match(got.message, new RegExp(`no native binary for linux-ppc64-${libc}`))
  assert.match(got.message, /linux-x64-gnu, linux-arm64-gnu, linux-x64-musl, linux-arm64-musl/)
  assert.equal(got.cause, true, "napi's load errors are kept as the cause")
})

test('a supported platform without its package says which package to install', () => {
  // This checkout builds no binary for the other architecture, and no platform package is installed.
  const other = process.arch === 'arm64' ? 'x64' : 'arm64'
  const got = requireAfter(onArch(other))
  const platform = `linux-${other}-${libc}`
  assert.equal(got.code, 'ERR_CONNECT_DYNAMODB_BINARY_MISSING')
  assert.equal(got.platform, platform)
  assert.match(got.message, new RegExp(`package connect-dynamodb-${platform}`))
  assert.match(got.message, /--omit=optional/)
})

test('an installed binary that does not load is told apart from a missing one', () => {
  const got = requireAfter(`
    const Module = require('node:module')
    Module._extensions['.node'] = () => { throw new Error('version GLIBC_2.99 not found') }`)
  assert.equal(got.code, 'ERR_CONNECT_DYNAMODB_BINARY_LOAD_FAILED')
  assert.equal(got.platform, currentPlatform())
  assert.match(got.message, /installed but did not load/)
  assert.equal(got.cause, true)
})

test('this machine loads its binary', () => {
  assert.deepEqual(requireAfter(''), { loaded: true })
})
