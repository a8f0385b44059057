"""Features: text tokenizer and word vectors; audio log-mel spectrograms."""
