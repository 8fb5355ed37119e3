"""Scoring: credit files turned into features, scorecards and grades."""
