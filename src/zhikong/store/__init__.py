"""The data store: database engine, table base and Alembic migrations."""
