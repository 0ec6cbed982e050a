"""Open311 GeoReport v2: our categories and reports for third-party applications.

Public reading needs no token; partner applications submit requests with an API key that
admins issue. Outputs carry no reporter data (see ``present``).
"""
