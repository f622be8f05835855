"""Step 5, claim application (申请补偿): filing with documents, the benefit engine, adjudication, quotes, what-if."""
