"""Resource limits and the bounded output capture shared by the process-based backends."""

from pydantic import BaseModel, ConfigDict, Field


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    memory_mb: int = Field(8192, gt=0, description="Address space per process (RLIMIT_AS), MiB.")
    cpu_seconds: int = Field(7200, gt=0, description="CPU time per process (RLIMIT_CPU), seconds.")
    processes: int = Field(512, gt=0, description="Processes of the sandbox user (RLIMIT_NPROC).")
    file_mb: int = Field(4096, gt=0, description="Largest file a process may write (RLIMIT_FSIZE), MiB.")
    open_files: int = Field(4096, gt=0, description="Open file descriptors per process (RLIMIT_NOFILE).")
    output_kept_bytes: int = Field(1 << 20, gt=0, description="Output kept from each end of a command.")
    output_kill_bytes: int = Field(64 << 20, gt=0, description="Output after which a command is killed.")

    def ulimit(self, *, processes: bool) -> str:
        """A bash line setting the limits (soft and hard, so the agent cannot raise them again);
        RLIMIT_NPROC only where it binds: a uid of the sandbox's own."""
        line = (f"ulimit -v {self.memory_mb << 10} -t {self.cpu_seconds} -f {self.file_mb << 10} "
                f"-n {self.open_files} -c 0")
        return line + (f" -u {self.processes}" if processes else "")


class Capture:
    """Keeps the first and last `kept` bytes of a stream and counts the rest."""

    def __init__(self, kept: int) -> None:
        self.kept = kept
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.kept - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        self.tail += chunk
        if len(self.tail) > 2 * self.kept:
            del self.tail[: len(self.tail) - self.kept]

    def text(self) -> str:
        tail = bytes(self.tail[-self.kept :])
        cut = self.total - len(self.head) - len(tail)
        note = f"\n[... {cut} bytes of output cut ...]\n".encode() if cut > 0 else b""
        return (bytes(self.head) + note + tail).decode(errors="replace")
