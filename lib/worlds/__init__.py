"""The worlds the chapters simulate: confounded towns, coloured digits, bandits, driving, causal
DAGs, counting and indifference, plans and goals. Worlds import only the evidence layer.
"""
