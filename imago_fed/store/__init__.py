"""PostgreSQL adapters: the connection pool, migrations, and repositories.

Only this package speaks SQL. Repositories implement the Protocols of
:mod:`imago_fed.domain.ports` over an asyncpg pool.
"""
