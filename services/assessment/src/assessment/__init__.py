"""d07 assessment service."""
