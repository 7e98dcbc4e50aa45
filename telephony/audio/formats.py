"""The audio formats at each end of a call: sample rates, sample width and frame sizes.

Twilio Media Streams carry 8 kHz G.711 mu-law, one byte per sample. The Live API takes 16 kHz
and returns 24 kHz 16-bit little-endian PCM. Frames are 20 ms on the Twilio side.
"""

TWILIO_RATE = 8000
"""Sample rate of Twilio Media Streams audio (mu-law, both directions)."""

MODEL_INPUT_RATE = 16000
"""Sample rate of the PCM16 audio the model listens to."""

MODEL_OUTPUT_RATE = 24000
"""Sample rate of the PCM16 audio the model speaks."""

FRAME_MS = 20
"""Duration of one Twilio media frame."""

PCM16_WIDTH = 2
"""Bytes per 16-bit PCM sample."""

TWILIO_FRAME_SAMPLES = TWILIO_RATE * FRAME_MS // 1000
"""Samples in one Twilio frame (160)."""

TWILIO_FRAME_BYTES = TWILIO_FRAME_SAMPLES
"""Bytes in one Twilio frame (160): mu-law is one byte per sample."""

MODEL_INPUT_FRAME_BYTES = MODEL_INPUT_RATE * FRAME_MS // 1000 * PCM16_WIDTH
"""Bytes of 16 kHz PCM16 in one frame's duration (640)."""

MODEL_OUTPUT_FRAME_BYTES = MODEL_OUTPUT_RATE * FRAME_MS // 1000 * PCM16_WIDTH
"""Bytes of 24 kHz PCM16 in one frame's duration (960)."""
