"""The package every BAT OS service imports: settings, names, bus, queues, stores, LLM access.

It is imported, never run, and imports neither ``services`` nor ``workers``.
"""
