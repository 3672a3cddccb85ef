"""Matrix adapter: each group is a space with rooms, through an Application Service."""
