"""The life of a ticket: states, who may move a report from one to the next, its history."""
