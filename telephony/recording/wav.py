"""A stereo 16-bit WAV file written as it grows, readable at every moment.

WAV rather than FLAC: the recording is written while the call goes on, and a WAV's only
variable fields are two sizes in its header, rewritten after every block (the standard library's
``wave`` does it), so the file on disk is always a complete, valid WAV of what was written so
far: a crash loses at most the block in memory. FLAC would halve the size but needs an encoder
the project does not ship (libsndfile) and, for a valid file, a sample count and checksum
written at the end. 8 kHz stereo 16-bit is 32 kB a second (1.9 MB a minute); G.711 audio gains
nothing from a wider sample, and 16-bit PCM plays everywhere.
"""

import wave
from pathlib import Path
from typing import BinaryIO

from telephony.audio import PCM16_WIDTH, TWILIO_RATE

CHANNELS = 2


class StereoWavWriter:
    """Appends interleaved 16-bit stereo frames to a WAV file, keeping its header valid."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # Unbuffered: each block goes to the OS as it is written, and a failing disk fails the
        # write that met it, not a later flush or close.
        self._file: BinaryIO = path.open("wb", buffering=0)
        self._wav = wave.open(self._file, "wb")  # noqa: SIM115  # closed in close()
        self._wav.setnchannels(CHANNELS)
        self._wav.setsampwidth(PCM16_WIDTH)
        self._wav.setframerate(TWILIO_RATE)
        self.frames = 0
        self._closed = False

    def write(self, pcm: bytes) -> None:
        """Append frames; the header is patched at once (the file is always a valid WAV)."""
        self._wav.writeframes(pcm)
        self.frames += len(pcm) // (CHANNELS * PCM16_WIDTH)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._wav.close()
        finally:
            self._file.close()

    @property
    def duration_ms(self) -> int:
        return self.frames * 1000 // TWILIO_RATE
