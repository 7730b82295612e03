gauntlet verify contract.toml --suite stack.toml
