"""The collection gate: parsers that turn telephony source files into plain records.

One module per source format (``asterisk_csv``, ``asterisk_custom``, ``freeswitch_csv``,
``graph_pstn``, ``jsonl``, ``voicemail_spool``); ``formats`` is the registry the CLI uses.
"""
