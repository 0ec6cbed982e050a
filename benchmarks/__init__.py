"""Speed measurements at the sizes the issues name; they print their figures (make bench)."""
