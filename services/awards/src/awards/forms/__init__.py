"""Award forms and their issuers: which certificate, who issues it, which role decides it."""
