"""Public notices of deregistrations and changes, the public registry lookup and feeds."""


def init_app(app) -> None:
    """Register the notices blueprints and periodic jobs (none yet)."""
