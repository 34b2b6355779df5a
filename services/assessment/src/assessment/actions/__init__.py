"""Corrective actions: what a unit undertakes for a criterion its finalised result left unmet, followed to
closure (police or admin create them; they, or the officer of the unit, close them)."""
