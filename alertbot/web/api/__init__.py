"""The HTTP API (/api/v1), its OpenAPI document, and the public CAP feed."""
