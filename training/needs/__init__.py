"""Training needs analysis: workforce groups, requirements, who is due what training, and the subgroup's reviews."""
