"""The passes of the controller loop: observe, decide, steer, warn.

Each reads and writes the store, calls the pure rules of ``spyagency.core`` and the clients of
``spyagency.sources``, and is what the CLI, the embedded loop, the Airflow tasks and the
benchmarks call. ``outbox`` delivers what steer and warn committed, exactly once.
"""

__all__ = ["decide", "observe", "outbox", "steer", "warn"]
