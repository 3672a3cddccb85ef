"""The domain: groups, graph, governance, voting, resources.

Pure Python: nouns and rules, no HTTP, no SQL, no protocol vocabulary. It talks
to the outside only through the ports in :mod:`imago_fed.domain.ports`.
"""
