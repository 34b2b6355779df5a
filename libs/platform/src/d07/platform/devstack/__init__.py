"""The local stack: a private PostgreSQL and a Tansu broker for `make run` and the tests.

Only development and tests use this package; production points D07_DATABASE_URL and D07_KAFKA_BOOTSTRAP at
real servers.
"""
