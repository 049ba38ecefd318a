// Types of connect-dynamodb/testing (testing.js).
export { ManualClock } from './native'
