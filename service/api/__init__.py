"""The REST API for frontends: schemas and the catalog service behind /api/v1."""
