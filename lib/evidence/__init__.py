"""The evidence layer: how the chapters check and report what they find.

Input validation, estimates with standard errors and power, claims with controls, and the house
style for figures. It imports nothing from the worlds or the learners.
"""
