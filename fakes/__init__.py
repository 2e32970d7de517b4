"""Stand-ins for the outside world (the training sandbox LAPOR, fake provider APIs); not production."""
