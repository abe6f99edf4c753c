"""The HTTP edge: routes, dependencies, limits, OpenAPI, the answers made of what intake did."""
