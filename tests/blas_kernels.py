"""Print the OpenBLAS kernels that ``make test-notebooks`` runs nbval under, one line.

On x86-64 these are the three kernels that OpenBLAS picks between on most current CPUs,
Sandybridge (AVX), Haswell (AVX2) and SkylakeX (AVX-512), less those this CPU cannot execute.
Where the environment already sets ``OPENBLAS_CORETYPE`` (some machines need it for correct
results), or on another architecture, it prints only ``default``: the kernel OpenBLAS chooses.
"""

import os
import pathlib
import platform

KERNELS = {"Sandybridge": "avx", "Haswell": "avx2", "SkylakeX": "avx512f"}


def kernels() -> list[str]:
    if os.environ.get("OPENBLAS_CORETYPE") or platform.machine() not in ("x86_64", "AMD64"):
        return ["default"]
    cpuinfo = pathlib.Path("/proc/cpuinfo")
    flags = set()
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    usable = [name for name, flag in KERNELS.items() if flag in flags]
    return usable or ["default"]


if __name__ == "__main__":
    print(" ".join(kernels()))
