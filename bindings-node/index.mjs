// ESM entry point: the same store as the CommonJS one (index.js).
import connectDynamoDB from './index.js'

export const DynamoDBStore = connectDynamoDB.DynamoDBStore
export const SessionStoreError = connectDynamoDB.SessionStoreError
export default connectDynamoDB
