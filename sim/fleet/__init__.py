"""Many runs: parameter sweeps with Monte Carlo replications on any executor."""
