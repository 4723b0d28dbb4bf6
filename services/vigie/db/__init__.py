"""The follow-up store's database: the local PostgreSQL and the schema migrations."""
