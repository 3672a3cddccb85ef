"""The application layer: use cases that sit between the adapters and the store.

Adapters (``activitypub/``, ``matrix/``, ``web/``, the CLI) call these services;
the services call the domain for rules and the ports (``domain/ports/``) for
everything outside the process. The store implements the ports; only
``app.py`` and ``commands/`` wire concrete classes together.
"""
