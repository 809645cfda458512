"""Custom checks the policy calls (``extern fn in_office(ip);``)."""

from ipaddress import ip_address, ip_network

OFFICE = ip_network("10.20.0.0/16")


def in_office(ip: str) -> bool:
    """Whether a request comes from the office network."""
    return ip_address(ip) in OFFICE
