"""Stand-ins for the outside world (sandbox LAPOR, fake provider APIs); not production code."""
