"""One small module per command; the shared options and error handling live in common.

Ctrl-C before a command runs is handled where it can land: in the launchers (bin/lxc-*,
while importing) and in common.entry() (while parsing); the command body reports it
through run_guarded. Each says "interrupted" or nothing, and exits 130.
"""
