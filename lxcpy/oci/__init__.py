"""lxcpy-oci: an OCI runtime (runc's command line) over lxcpy's core.

spec.py     config.json -> ContainerConfig (pure)      seccomp.py  OCI seccomp JSON -> Policy
state.py    the state store under --root, flock'd       create.py   create: up to the start gate
exec.py     exec in a running container                 cli.py      the commands
"""

OCI_VERSION = "1.0.2-dev"  # the runtime-spec version of config.json and the state JSON (runc's)
