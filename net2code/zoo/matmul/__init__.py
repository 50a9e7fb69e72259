"""Matrix multiplication as a bilinear network: training, exact extraction, emission."""
