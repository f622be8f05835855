"""Prefect flows: one per step of the programme, plus the dispatcher and the sweeps that run on a schedule."""
