"""Projections: the read models, kept from the other services' events by one batch handler."""
