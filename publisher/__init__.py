"""Articles through the three reviews (rule 8), with automated content checks (rule 9).

This package holds the publisher's models and rules; above it sit the fan-out
(`publisher.fanout`), the publishing tasks (`publisher.tasks`), the editorial desk
(`publisher.editorial`) and the pages (`publisher.views`), which wire it all into the app.
"""
from . import models  # noqa: F401  (the tables, for metadata and migrations)
