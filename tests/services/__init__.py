"""Services that exist only for gauntlet's own tests: targets that are not the reference stack."""
