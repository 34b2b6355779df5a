"""Security forces of units and their guards."""
