// Placeholder until the scheduler lands.
