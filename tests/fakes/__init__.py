"""In-memory fakes of the ports in ``imago_fed/domain/ports/``: use-case tests without PostgreSQL.

One module per area, as the ports are laid out. Each fake keeps what the real
store would keep, in plain dicts, and answers the same guarded-write booleans.
"""
