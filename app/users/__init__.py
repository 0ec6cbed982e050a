"""Staff accounts: roles, desks and crews of the people who work the control centre."""
