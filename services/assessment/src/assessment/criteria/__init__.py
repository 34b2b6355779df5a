"""Criteria sets of the standard: versioned data (Circular 23/2012/TT-BCA, Circular 124/2021/TT-BCA), each
criterion declared, evidence-backed or derived from platform data (`criteria.derivation`)."""
