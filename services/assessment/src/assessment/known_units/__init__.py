"""The read copy of the registry's units (`units`), kept from `d07.registry.units.v1`: what opening a round
and the derived criteria read about a unit (code, name, kind, district, status, scope)."""
