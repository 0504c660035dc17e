"""Demo tooling: synthetic events and offline tables of a pin-sharing app."""
