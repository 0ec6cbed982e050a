"""The web pages Signale serves itself: the landing page at ``/``, in French or English."""
