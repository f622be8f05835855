"""Step 2, registration (组织报名): roster files read and checked row by row, enrolled chunk by chunk; renewal."""
