"""Step 6, multi-level approval (多级审批): routing, the reviewers' queue, decisions, final approval, public notice
and objections, deadlines."""
