"""Alembic environment of the hub schema: run in-process on the connection `hub init` hands over."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, version_table="perfectcare_hub_revision")
with context.begin_transaction():
    context.run_migrations()
