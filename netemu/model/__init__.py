"""Scenario -> Model: AWS defaults applied, every address fixed, validated."""
