"""Audio for the call path: G.711 mu-law and the streaming resamplers between Twilio and the model.

Pure and synchronous; one converter instance per call and direction.
"""

from telephony.audio.mulaw import ULAW_SILENCE, pcm16_to_ulaw, ulaw_to_pcm16

__all__ = ["ULAW_SILENCE", "pcm16_to_ulaw", "ulaw_to_pcm16"]
