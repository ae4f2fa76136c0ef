"""The container's file system view: rootfs, fstab, mount entries, mount.auto, /proc, /dev."""
