"""Local mode: the same jobs, handler and resources on an embedded moto, on a simulated clock."""
