"""The registry: units, accounts, lifecycle events and their filings.

This package holds the registry's models and rules. Its pages, API, import and command group
are wired into the app by `registry.views` (`init_app`), which sits above this package and
`registry.importer`, so neither imports its parent's wiring.
"""
