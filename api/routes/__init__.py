"""One router per area of the API; api.main includes them all."""
