"""Graph of groups: places, themes, typed relations and proximity."""
