"""Expose the Synapse fixtures to the browser tests (a real homeserver to break)."""

from tests.matrix_hs.fixtures import synapse_factory as synapse_factory
