"""What several steps share: labels, the org tree, programmes and rules, users, masking, publishing, ID numbers,
working days, rendering, spreadsheet export, bulk SQL, and the one access policy.

Nothing in here imports a step package.
"""
