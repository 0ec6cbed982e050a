"""The console's live updates: report changes through LISTEN/NOTIFY, as server-sent events."""
