"""Recordings of what the caller heard: both sides of a call on the call's clock, to a file.

- ``timeline``: the caller's audio as received and the agent's as played (cut where ``clear``
  cut it), placed on one clock; pure.
- ``wav``: a stereo WAV file written as it grows, its header kept valid after every block.
- ``recorder``: ``HeardRecorder``, one call's timeline written to its file.
"""

from telephony.recording.recorder import HeardRecorder, RecordingInfo
from telephony.recording.timeline import HOLD_SAMPLES, StereoTimeline

__all__ = ["HOLD_SAMPLES", "HeardRecorder", "RecordingInfo", "StereoTimeline"]
