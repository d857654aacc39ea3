"""Supervision's operations, as the API, the pages, the CLI and the jobs call them.

The rules live in their own modules: dormancy.py (rule 5, set-based), duplicates.py and
names.py (rule 3), dashboard.py (summary and trend), rectification.py (rule 7); figures.py
holds the derived figures they read and pending.py the one function that keeps them current.
reports.py (quarterly reports), notifications.py (each user's reminders) and lookups.py (names
and choice lists the pages show) are called by the pages and the API directly.
"""
from .dashboard import overdue_message_accounts, summary, trend
from .dormancy import band_counts, band_totals, dormant_list, weekly_bands
from .duplicates import duplicates
from .names import name_key, refresh_name_index
from .pending import apply_pending, rebuild_all
from .rectification import (RECTIFICATION_KINDS, answer_rectification, create_rectification,
                            decide_rectification, get_rectification, rectification_json,
                            rectifications_query)

__all__ = ["RECTIFICATION_KINDS", "answer_rectification", "apply_pending", "band_counts",
           "band_totals", "create_rectification", "decide_rectification", "dormant_list",
           "duplicates", "get_rectification", "name_key", "overdue_message_accounts", "rebuild_all", "rectification_json",
           "rectifications_query", "refresh_name_index", "summary", "trend", "weekly_bands"]
