"""What partners and forces run on their side: building, publishing and reading messages."""
