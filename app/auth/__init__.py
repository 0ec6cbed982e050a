"""Who is calling: Firebase ID token verification and the caller's identity and roles."""
