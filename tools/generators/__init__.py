"""Demo and benchmark data, generated deterministically inside Dijon Métropole's communes:
the equipment register, reports in bulk, and a demo organisation (routing rules, crews)."""
