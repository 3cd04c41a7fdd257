"""Storage: SQLAlchemy models, the repository the engine talks to, Alembic migrations."""
