"""The web dashboard: jobs, slot timelines, runs, dead letters and the operator's actions.

Served by ``cronbridge local --serve`` (on the embedded AWS) and ``cronbridge dashboard``
(on any target the CLI can reach). Pages are rendered on the server with Jinja2 from the
operations layer's plain data; htmx (2.0.11, BSD0, vendored as ``static/htmx.min.js``)
refreshes the live parts. Nothing is fetched from a CDN and there is no Node build: the
page works from the installed package.
"""
