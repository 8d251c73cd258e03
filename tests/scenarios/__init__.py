"""Tests of whole timelines against worlds written from the reference facts."""
