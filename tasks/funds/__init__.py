"""Step 4, fund collection (资金筹集): receipts, unit contributions, the earmarked ledger and reconciliation."""
