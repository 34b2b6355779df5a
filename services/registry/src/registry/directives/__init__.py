"""Directive documents, their distribution to units and the units' acknowledgement."""
