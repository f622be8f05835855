"""Letters to applicants and the outbox dispatcher that writes them from committed events."""
