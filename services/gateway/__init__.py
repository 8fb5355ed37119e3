"""The gateway: the only door for people (HTTP/JSON, dashboard) and regulators (gRPC façade).

It authenticates, authorises by role, translates and presents; business rules stay in the
records and scoring services, which authorise every forwarded call again.
"""
