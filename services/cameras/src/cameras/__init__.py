"""d07 cameras service."""
