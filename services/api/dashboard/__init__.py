"""The dashboard: one static page at ``/`` (HTML, vanilla JS, CSS; no build step, nothing from a CDN).

The page and its files are public (``/``, ``/dashboard/...``: no data in them); everything it
shows comes from the ``/v1`` API, called by the page's script with the bearer token the user
enters once (kept in the tab's ``sessionStorage``). ``page_router`` serves the files;
``data_router`` adds the one read the API had no route for: the recent curation verdicts, from
which the page draws acceptance rates per dataset version and over time.
"""

from services.api.dashboard.routes import ASSETS, STATIC_PREFIX, data_router, page_router

__all__ = ["ASSETS", "STATIC_PREFIX", "data_router", "page_router"]
