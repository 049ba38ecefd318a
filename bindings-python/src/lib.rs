//! The Python face of connect-dynamodb.
