"""A real Synapse homeserver for tests (see :mod:`tests.matrix_hs.synapse`)."""
