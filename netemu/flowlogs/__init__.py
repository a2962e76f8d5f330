"""VPC Flow Logs (reference 12) built from the kernel's own events: conntrack and drops."""
