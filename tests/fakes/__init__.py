"""In-memory fakes of the ports (``imago_fed.domain.ports``), for fast tests.

Each module fakes one area's ports; the real implementations (``store/``)
are tested against PostgreSQL.
"""
