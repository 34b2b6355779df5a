"""d07 awards service."""
