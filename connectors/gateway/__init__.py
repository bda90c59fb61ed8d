"""The ccxt venue gateway: real exchanges behind the same slices and reports as the simulated venue."""
