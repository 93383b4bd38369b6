"""The DirectAccess client and server built on the transition machines."""
