//! The C face of connect-dynamodb.
