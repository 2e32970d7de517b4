"""Stand-ins for the outside world: the training sandbox LAPOR and fake provider APIs (never production paths)."""
