"""d07 registry service."""
