"""One folder per channel: a receive side that builds RawMessages, a send side for replies."""
