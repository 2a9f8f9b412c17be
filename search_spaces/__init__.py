"""Built-in search spaces, one file per architecture family (registered on import)."""
