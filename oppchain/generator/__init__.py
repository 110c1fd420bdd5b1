"""A deterministic synthetic world: events for the pipeline and the truth to check it by.

``generate(seed, days, events=..., ...)`` simulates a few brands' social accounts,
the strangers, followers and relationships around them, their CRM, rings and
pods, and returns the event stream (JSON lines) with its truth; ``write`` saves
both.
"""

from oppchain.generator.world import World, generate, write

__all__ = ["World", "generate", "write"]
