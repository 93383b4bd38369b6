"""Training exercises: a world with a hidden fault, the symptoms a student may see, and a
checker that says, from simulations, whether a proposed fix is the documented remedy, a
workaround or wrong."""
