"""The peak resident memory of the running process, for the programs that measure it."""

import resource


def peak_memory_kb() -> dict[str, int]:
    """Peak resident memory of this process image, in KiB.

    ``hwm_kb`` is ``VmHWM`` from ``/proc/self/status``: on Linux a child's
    ``getrusage(RUSAGE_SELF).ru_maxrss`` starts from its parent's peak at fork and keeps it across
    ``exec``, so in a child of a large process it reports the parent's size. ``maxrss_kb`` is that
    ``ru_maxrss``, kept for reference; ``hwm_kb`` falls back to it where ``/proc`` is absent.

    Returns:
        ``{"maxrss_kb": int, "hwm_kb": int}``.
    """
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    hwm = maxrss
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
                    break
    except OSError:
        pass
    return {"maxrss_kb": maxrss, "hwm_kb": hwm}
