"""Step 3, eligibility review (审核确认): the automatic checks in SQL, the bar list, and review tasks for the rest."""
