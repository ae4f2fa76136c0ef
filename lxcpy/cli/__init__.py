"""One small click module per command; the shared options and error handling live in common."""
