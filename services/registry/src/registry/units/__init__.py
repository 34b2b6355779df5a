"""Units: agencies, enterprises and schools, their status history and scope."""
