"""Rounds of the standard, per-unit assessments (self-assessment, verification, result, revisions),
corrective actions and review flags."""
