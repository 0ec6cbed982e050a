"""The console's live updates: report changes from PostgreSQL's LISTEN/NOTIFY, streamed as
server-sent events."""
