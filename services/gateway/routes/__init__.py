"""HTTP routers, one per concern; each endpoint declares its roles with ``require``."""
