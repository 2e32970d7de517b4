"""lapor-gateway core: settings, store, intake, outbox, LAPOR adapters, console, CLI."""
