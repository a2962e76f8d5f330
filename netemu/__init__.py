"""netemu: AWS VPC networking built for real in one Linux kernel."""

__version__ = "0.1.0"
