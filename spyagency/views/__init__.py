"""Read models for people: the console's banner, grid and timeline, terminal tables, the demo's story."""

__all__ = ["console", "demo_story", "explain", "report", "what_if"]
