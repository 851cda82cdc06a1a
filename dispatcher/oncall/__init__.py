"""Who is on call: the rota applied to the overrides stored in the database."""
