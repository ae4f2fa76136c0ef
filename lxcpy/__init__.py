"""lxcpy: the classic LXC toolsuite in Python.

Data flows one way: cli -> container -> (config, runtime) -> (kernel, cgroups, net, rootfs).
"""

__version__ = "0.1.0"
