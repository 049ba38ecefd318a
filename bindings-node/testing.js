'use strict'
// Tools for the tests of applications that use connect-dynamodb:
// `const { ManualClock } = require('connect-dynamodb/testing')`, then
// `new DynamoDBStore({ clock, ... })` and `clock.advance(ms)` to expire sessions or end a
// touch throttle without waiting.
const { ManualClock } = require('./lib/native.js')

module.exports = { ManualClock }
