// Placeholder until simulated nodes land.
