"""Persistence: tables, engine, migrations. SQLite by default, PostgreSQL for more than one host."""
