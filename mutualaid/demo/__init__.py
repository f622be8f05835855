"""The demo: a whole programme year on generated data, through the real flows, services and stores.

`setup` builds the org tree, accounts and papers; `people` plays the reviewers and the public; `cycle` is the
Prefect flow chaining the eight steps; `bank` stands in for the bank; `summary` prints the figures.
"""
