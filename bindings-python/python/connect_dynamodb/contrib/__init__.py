"""Framework integrations of connect_dynamodb, pure Python over the store.

- :mod:`connect_dynamodb.contrib.django`: a Django session engine
  (``SESSION_ENGINE = "connect_dynamodb.contrib.django"``).
- :mod:`connect_dynamodb.contrib.flask`: a Flask ``SessionInterface`` with a signed session-id
  cookie, optionally compatible with express-session's cookie and session format.
- :mod:`connect_dynamodb.contrib.starlette`: a store for the starsessions middleware
  (Starlette, FastAPI).
- :mod:`connect_dynamodb.contrib.litestar`: a Litestar 2 store (server-side sessions, response
  cache, rate limits), on the core's key-value mode.

Each module imports its framework only when imported itself, so none of the frameworks is a
dependency of the package.
"""
