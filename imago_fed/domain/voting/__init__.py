"""Group decisions: how ballots are cast, counted and published."""
