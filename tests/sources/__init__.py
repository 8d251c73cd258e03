"""Tests of the clients of the outside systems and their contracts."""
