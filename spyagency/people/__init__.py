"""What people tell SpyAgency: AlCa experts' acknowledgements and sign-offs, operators' overrides."""

__all__ = ["acknowledge", "overrides", "signoff"]
