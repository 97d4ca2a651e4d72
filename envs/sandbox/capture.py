"""Bounded capture of a command's output: the first and last bytes are kept, the rest counted."""


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
