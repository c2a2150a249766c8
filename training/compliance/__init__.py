"""Single-agency training compliance returns, the Independent Scrutineer's challenges and the responses."""
