"""Step 1, publicity (宣传发动): the year's announcement, materials checklist and warm reminder; renewal reminders."""
