"""Channel adapters: they translate vendor payloads to domain values and back, nothing more."""
