"""Tests of the API, the console, the CLI."""
