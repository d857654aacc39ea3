"""Articles through the three reviews, with automated content checks."""


def init_app(app) -> None:
    """Register the publisher blueprints (none yet)."""
