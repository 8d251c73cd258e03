"""Act: carry verdicts to the world, exactly once: the outbox, Tier0's release switch, warnings to experts."""
