"""Expose the Synapse fixtures to the tests in this folder."""

from tests.matrix_hs.fixtures import synapse as synapse
from tests.matrix_hs.fixtures import synapse_factory as synapse_factory
