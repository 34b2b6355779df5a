"""d07 reporting service."""
