"""Award rounds, nominations, eligibility, council votes and decisions."""
