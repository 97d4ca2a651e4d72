"""Resource limits and the bounded output capture shared by the process-based backends."""

from pydantic import BaseModel, ConfigDict, Field


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    memory_mb: int = Field(8192, gt=0, description="Address space per process (RLIMIT_AS), MiB.")
    cpu_seconds: int = Field(7200, gt=0, description="CPU time per process (RLIMIT_CPU), seconds.")
    processes: int = Field(512, gt=0, description="Processes of the sandbox user (RLIMIT_NPROC): of the whole "
                           "sandbox as root (a uid of its own) or in a user namespace of its own.")
    sandbox_memory_mb: int = Field(16384, gt=0, description="Memory of the whole sandbox: all its processes and "
                                   "the files they keep in tmpfs (its memory cgroup, as root), MiB.")
    file_mb: int = Field(4096, gt=0, description="Largest file a process may write (RLIMIT_FSIZE), MiB.")
    open_files: int = Field(4096, gt=0, description="Open file descriptors per process (RLIMIT_NOFILE).")
    shm_mb: int = Field(1024, gt=0, description="Size of the sandbox's /dev/shm, MiB.")
    disk_mb: int = Field(20480, gt=0, description="Bytes an episode's sandbox may write on the host (its home, "
                         "workspace and /tmp: a file system of their own, as root), MiB.")
    inodes: int = Field(200_000, gt=0, description="Files and folders an episode's sandbox may make on the host "
                        "(as root).")
    tmpfs_mb: int = Field(1024, gt=0, description="Size of each other RAM-backed folder (/tmp of an evaluation "
                          "sandbox, the home of a sandbox that has none on disk), MiB.")
    threads: int | None = Field(None, gt=0, description="Threads of numeric libraries (OMP_NUM_THREADS and "
                                "kin); None: their default, one a core.")
    output_kept_bytes: int = Field(1 << 20, gt=0, description="Output kept from each end of a command.")
    output_kill_bytes: int = Field(64 << 20, gt=0, description="Output after which a command is killed.")

    def thread_env(self) -> dict[str, str]:
        """Variables that cap the thread pools of OpenMP, BLAS and joblib (sklearn, numpy, torch)."""
        if self.threads is None:
            return {}
        names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                 "LOKY_MAX_CPU_COUNT")
        return dict.fromkeys(names, str(self.threads))

    def ulimit(self, *, processes: bool) -> str:
        """A bash line setting the limits (soft and hard, so the agent cannot raise them again);
        RLIMIT_NPROC only where it binds: a uid of the sandbox's own."""
        line = (f"ulimit -v {self.memory_mb << 10} -t {self.cpu_seconds} -f {self.file_mb << 10} "
                f"-n {self.open_files} -c 0")
        return line + (f" -u {self.processes}" if processes else "")
