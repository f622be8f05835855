"""Units of work: domain operations over a session, and the Prefect tasks that run them in chunks."""
