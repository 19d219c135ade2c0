"""Task networks built from the Hopfield layers (plain ``nn.Module`` s, used by the Lightning recipes)."""
