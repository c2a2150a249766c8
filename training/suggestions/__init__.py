"""Course suggestions from partners, and the subgroup's decisions on them."""
