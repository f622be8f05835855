"""Prefect flows: one per step of the programme, plus the cycle that chains them for a demo."""
