gauntlet validate contract.toml gauntlet.toml          # what a run would refuse, in a second
gauntlet verify contract.toml --suite gauntlet.toml    # every claim, under faults
