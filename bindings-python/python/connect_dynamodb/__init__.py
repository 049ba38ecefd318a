"""connect_dynamodb: a web session store on Amazon DynamoDB.

:class:`SessionStore` blocks the calling thread (without the GIL) while it waits on DynamoDB;
:class:`AsyncSessionStore` has the same methods as coroutines. Both read and write tables in
the item format of the npm package connect-dynamodb, so Python and Node apps can share one
table. The framework integrations live in ``connect_dynamodb.contrib``.
"""

from ._native import (
    AsyncSessionStore,
    Credentials,
    ReapReport,
    SessionStore,
    StoredSession,
    __version__,
)
from .exceptions import (
    AuthError,
    ConfigError,
    ConflictError,
    InternalError,
    InvalidArgumentError,
    ItemTooLargeError,
    RequestTimeoutError,
    SerializationError,
    ServiceError,
    SessionStoreError,
    TableNotFoundError,
    ThrottledError,
    TransportError,
)

__all__ = [
    "AsyncSessionStore",
    "AuthError",
    "ConfigError",
    "ConflictError",
    "Credentials",
    "InternalError",
    "InvalidArgumentError",
    "ItemTooLargeError",
    "ReapReport",
    "RequestTimeoutError",
    "SerializationError",
    "ServiceError",
    "SessionStore",
    "SessionStoreError",
    "StoredSession",
    "TableNotFoundError",
    "ThrottledError",
    "TransportError",
    "__version__",
]
