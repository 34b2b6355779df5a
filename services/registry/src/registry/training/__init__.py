"""Training classes for guards and their attendance."""
