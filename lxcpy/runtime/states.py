"""The container states of LXC's life cycle (seed section 3.1)."""

STOPPED = "STOPPED"
STARTING = "STARTING"
RUNNING = "RUNNING"
STOPPING = "STOPPING"
ABORTING = "ABORTING"
FREEZING = "FREEZING"
FROZEN = "FROZEN"
THAWED = "THAWED"

ALL = (STOPPED, STARTING, RUNNING, STOPPING, ABORTING, FREEZING, FROZEN, THAWED)
# States in which the container has processes (lxc-ls --active)
ACTIVE = (STARTING, RUNNING, STOPPING, ABORTING, FREEZING, FROZEN, THAWED)


def parse_states(text: str) -> set[str]:
    """Parse lxc-wait's ``'RUNNING|FROZEN'``; unknown names are an error."""
    from lxcpy.errors import UsageError

    wanted = {s.strip().upper() for s in text.split("|") if s.strip()}
    if not wanted:
        raise UsageError("no state given")
    bad = sorted(wanted - set(ALL))
    if bad:
        raise UsageError(f"invalid state '{bad[0]}' (states: {', '.join(ALL)})")
    return wanted
