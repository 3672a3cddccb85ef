"""HTTP: the Quart app's blueprints, the admin API and its OpenAPI document."""
