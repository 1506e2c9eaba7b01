"""Scorecard definitions, roll-ups and bonus rules (pure library). Arrives with scoring."""
