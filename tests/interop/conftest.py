"""Expose the Synapse fixtures to the interop tests."""

from tests.matrix_hs.fixtures import synapse_factory as synapse_factory
