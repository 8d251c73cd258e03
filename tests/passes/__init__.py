"""Tests of observe, decide, steer and warn through the real store and sources."""
