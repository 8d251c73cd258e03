"""Tests of the pure rules, without servers."""
