"""The operator console: static pages served by the app (no build step), see ``static/``."""
