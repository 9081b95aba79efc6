"""The web UI's HTML views: accounts, projects, the dashboard and monitor pages.

Every view resolves what it shows through `monitors.access` (404 for other people's
projects) and writes only through services.
"""
