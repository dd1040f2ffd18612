"""What orchestrates backend calls, one module per route family; routes in api/ call these."""
