"""The HTTP API (FastAPI): reviewers' queue, case tracking, users, rosters and public disclosures."""
