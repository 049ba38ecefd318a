#!/usr/bin/env node
'use strict'
// `npx connect-dynamodb <command> [options]`: the ops CLI (`--help` lists the commands). The
// commands live in the native core, which writes their output to this process's stdout and
// stderr itself, the same bytes as `python -m connect_dynamodb`; this script hands it the
// arguments and sets the exit status it returns.

function main() {
  let native
  try {
    native = require('../lib/native')
  } catch (err) {
    process.stderr.write(`connect-dynamodb: ${err.message}\n`)
    process.exitCode = 1
    return
  }
  native.runCli(process.argv.slice(2)).then(
    (status) => {
      process.exitCode = status
    },
    (err) => {
      process.stderr.write(`connect-dynamodb: ${err?.message}\n`)
      process.exitCode = 1
    },
  )
}

main()
