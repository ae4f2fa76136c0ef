"""The supervisor, the in-container setup sequence, PID-1 init and state broadcast."""
