"""Models: plain `nn.Module` encoders (ids → features) behind one `TextClassifier`."""
