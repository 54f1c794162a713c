"""The learners the chapters train: networks and the methods built on them (invariance penalties,
representation repair, inductive-bias probes). Learners import worlds and the evidence layer,
never the figures.
"""
