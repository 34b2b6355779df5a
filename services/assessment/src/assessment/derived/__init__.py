"""Derived criteria: criteria of the standard judged from platform data rather than declared by the unit.

- `service.derive(reader, unit_id=, year=)` answers the criteria whose `criteria.derivation` names a rule
  (`has_effective_model`, `guards_trained_in_year`, `no_confirmed_serious_violation`; the rules and the
  choices behind them are in domain.py), each with a Vietnamese reason and its sources (model, attendance,
  violation). Rounds call it at submission and finalisation, and to show an open assessment live.
- The read models they read (migration 0003: `known_models`, `known_model_statuses`, `known_classes`,
  `known_attendances`, `known_violations`) are kept by one consumer group, `assessment.derived`, over
  `d07.registry.models.v1`, `d07.registry.training.v1` and `d07.cameras.violations.v1` (events.py).
- A confirmed serious violation for a unit and year whose assessment is finalised, and which that assessment
  did not keep among its derived sources, flags it for review: the review flags (`review_flags`) are this
  aggregate's (`ReviewFlagRepository`); rounds read them and resolve them by a revision through it. The
  assessment itself is not changed. Derived imports nothing of rounds.

The derived criteria have no API of their own: they reach people through the assessments' answers
(`GetAssessment`).
"""
