"""Temporal plumbing: the client, the plugin, the data converter and codec, run summaries, setup.

Package modules import nothing here on purpose: workflow code imports some of them, and this
package's `__init__` must stay empty for that.
"""
