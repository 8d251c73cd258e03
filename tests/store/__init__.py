"""Tests of SpyAgency's own store."""
