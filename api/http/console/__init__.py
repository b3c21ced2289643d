"""The web console's HTTP parts: the route table and its guard (table.py), the screens
(screens.py) and their words (words.py). Routes are in api/http/routes/console.py; the
browser's scripts and styles in api/http/static/console/. See docs/console.md."""
