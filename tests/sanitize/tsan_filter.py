"""Judges ThreadSanitizer logs of a program that uses (uninstrumented) Open MPI.

A report is let through only if, in every stack it gives for the conflicting operations (the two
accesses of a race, the mutex acquisitions of a lock-order inversion, ...), the innermost frame
outside the C/C++/TSan runtime lies in Open MPI's libraries (libmpi, libopen-pal, libopen-rte,
pmix, the mca_* components, libevent, hwloc): the operations TSan saw conflict were made by Open
MPI itself. Frames below them may be nosync's (every MPI call starts in our code, and TSan's
unwinder skips uninstrumented frames, so an MPI_Init inside Open MPI shows up as called from
`main`). Thread-creation and allocation stacks are not judged. Every other report fails the run
(exit 1) and is printed in full: a race between our code and Open MPI (e.g. MPI reading a buffer
the training thread writes) has one of its stacks in our code and is caught.
Usage: tsan_filter.py LOG...
"""
import re
import sys

OPEN_MPI = re.compile(r"^(libmpi|libopen-pal|libopen-rte|libpmix|mca_|pmix_|libevent|libhwloc)")
RUNTIME = re.compile(r"^(libtsan|libc\.so|libc-|ld-linux|libstdc\+\+|libgcc_s|libpthread)")
FRAME = re.compile(r"^\s+#\d+ .*\((\S+?)\+0x[0-9a-f]+\)\s*$")
NOT_JUDGED = ("created by", "created at", "allocated by", "Location is", "As if synchronized", "Cycle in")


def reports(text):
    for block in text.split("==================\n"):
        if block.startswith("WARNING: ThreadSanitizer:"):
            yield block


def judged_stacks(report):
    """Each judged stack as its list of module names, innermost frame first."""
    stacks, judged = [], False
    for line in report.splitlines()[1:]:
        if not line.strip():
            continue
        if not line.lstrip().startswith("#"):
            judged = not any(k in line for k in NOT_JUDGED) and not line.startswith("SUMMARY")
            if judged:
                stacks.append([])
            continue
        if judged:
            m = FRAME.match(line)
            stacks[-1].append(m.group(1).rsplit("/", 1)[-1] if m else "?")
    return [s for s in stacks if s] or [["?"]]


def made_by_open_mpi(stack):
    for module in stack:
        if not RUNTIME.match(module):
            return bool(OPEN_MPI.match(module))
    return False


def main(paths):
    allowed, bad = 0, []
    for path in paths:
        for report in reports(open(path, errors="replace").read()):
            stacks = judged_stacks(report)
            if all(made_by_open_mpi(s) for s in stacks):
                allowed += 1
                summary = [l for l in report.splitlines() if l.startswith("SUMMARY")]
                print(f"tsan: inside Open MPI, let through: {summary[0] if summary else report.splitlines()[0]}")
            else:
                bad.append(report)
    for report in bad:
        print("==================\n" + report, end="")
    print(f"tsan: {len(bad)} report(s) involving nosync's code, {allowed} made inside Open MPI only")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
