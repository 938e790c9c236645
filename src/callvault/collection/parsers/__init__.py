"""collection/parsers."""
