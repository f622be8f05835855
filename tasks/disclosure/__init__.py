"""Step 8, public disclosure (信息公开): beneficiaries and fund figures of a period, published with a manifest."""
