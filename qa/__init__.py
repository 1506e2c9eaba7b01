"""Transcript in, scores with evidence out (pure library). Scoring arrives with its own issue."""
