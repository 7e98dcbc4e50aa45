"""Everything that speaks Twilio: Media Streams messages, signatures, webhooks, the stream."""
