"""State kept in Redis keys and streams: one store per kind of record."""
