"""What residents can report: the category catalogue, with per-category questions."""
