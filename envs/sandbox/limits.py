"""Resource limits and the bounded output capture shared by the process-based backends."""

from pydantic import BaseModel, ConfigDict, Field


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    memory_mb: int = Field(8192, gt=0, description="Address space per process (RLIMIT_AS), MiB.")
    cpu_seconds: int = Field(7200, gt=0, description="CPU time per process (RLIMIT_CPU), seconds.")
    processes: int = Field(512, gt=0, description="Processes of the sandbox user (RLIMIT_NPROC).")
    file_mb: int = Field(4096, gt=0, description="Largest file a process may write (RLIMIT_FSIZE), MiB.")
    open_files: int = Field(4096, gt=0, description="Open file descriptors per process (RLIMIT_NOFILE).")
    shm_mb: int = Field(1024, gt=0, description="Size of the sandbox's /dev/shm, MiB.")
    output_kept_bytes: int = Field(1 << 20, gt=0, description="Output kept from each end of a command.")
    output_kill_bytes: int = Field(64 << 20, gt=0, description="Output after which a command is killed.")

    def ulimit(self, *, processes: bool) -> str:
        """A bash line setting the limits (soft and hard, so the agent cannot raise them again);
        RLIMIT_NPROC only where it binds: a uid of the sandbox's own."""
        line = (f"ulimit -v {self.memory_mb << 10} -t {self.cpu_seconds} -f {self.file_mb << 10} "
                f"-n {self.open_files} -c 0")
        return line + (f" -u {self.processes}" if processes else "")
