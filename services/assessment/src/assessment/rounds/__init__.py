"""Rounds of the standard and the per-unit assessments: opening a round, self-assessment, verification,
finalisation and revisions. The derived criteria (`assessment.derived`) prefill the answers; corrective
actions are their own aggregate (`assessment.actions`)."""
