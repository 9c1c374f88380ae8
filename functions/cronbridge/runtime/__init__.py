"""Lambda runtime: settings read once at cold start, Powertools wiring, handler entry points."""
