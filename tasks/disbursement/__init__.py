"""Step 7, disbursement (补偿发放): payment batches, the bank's file formats, settlement of the bank's answer."""
