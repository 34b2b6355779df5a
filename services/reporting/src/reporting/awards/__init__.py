"""Award counts: the standing awards by form and recipient kind, read from the awards projection."""
